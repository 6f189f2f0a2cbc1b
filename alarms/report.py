"""Alarm-system performance computed from the journal, after EEMUA 191.

Targets used (EEMUA 191, 3rd edition, as secondary sources quote it, not checked
against the standard itself): about one alarm per 10 minutes per operator in steady
state (144 a day). A flood is more than 10 new alarms in 10 minutes. The priority mix
is near 5 % high, 15 % medium, 80 % low. Vigie
has four priorities, so critical alarms count in the high share of the mix and are
also listed on their own.

An alarm is an activation the operator saw: a change to unack_active from normal
or unack_rtn with ``shown`` set. Flood alarms are reported as flood periods, not
counted as alarms.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter, defaultdict

from vigie.config import AlarmsConfig

TEN_MINUTES_S = 600.0
DAY_S = 86400.0
TARGET_PER_10_MIN = 1.0
TARGET_PER_DAY = 144.0
TARGET_MIX = {"high": 5.0, "medium": 15.0, "low": 80.0}
CHATTER_ACTIVATIONS = 3
CHATTER_WINDOW_S = 60.0
STALE_AFTER_S = DAY_S
TOP_COUNT = 10

ACTIVE = ("unack_active", "ack_active")
CONDITION_STATES = ("normal", "unack_active", "ack_active", "unack_rtn")

ROWS = (
    "SELECT ts, alarm_id, from_state, to_state, area, priority, shown"
    " FROM journal WHERE ts < ? ORDER BY ts, id"
)


def build_report(
    conn: sqlite3.Connection,
    start: float,
    end: float,
    area: str | None = None,
    areas: dict[str, tuple[str, str]] | None = None,
    settings: AlarmsConfig | None = None,
) -> dict:
    """Return the performance report from ``start`` to ``end`` per area.

    ``areas`` maps alarm ids to (area, priority) of the current configuration;
    it fills in rows from before the journal stored both. With ``area`` the
    report contains that area only.
    """
    if end <= start:
        raise ValueError(f"the report end {end} must be after its start {start}")
    areas = areas or {}
    settings = settings or AlarmsConfig()
    flood_suffix = ".flood"

    activations: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    floods: dict[str, list[list[float]]] = defaultdict(list)
    active_since: dict[str, float] = {}
    stale: dict[str, list[dict]] = defaultdict(list)
    alarm_area: dict[str, str] = {}

    for ts, alarm_id, from_state, to_state, row_area, priority, shown in conn.execute(
        ROWS, (end,)
    ):
        known_area, known_priority = areas.get(alarm_id, ("", ""))
        where = row_area or known_area or alarm_id.split(".", 1)[0]
        priority = priority or known_priority or "unknown"
        alarm_area[alarm_id] = where
        if from_state not in CONDITION_STATES or to_state not in CONDITION_STATES:
            continue

        was_active = from_state in ACTIVE
        now_active = to_state in ACTIVE
        if now_active and not was_active:
            active_since[alarm_id] = ts
            if alarm_id.endswith(flood_suffix):
                floods[where].append([ts, end])
            elif shown and ts >= start:
                activations[where].append((ts, alarm_id, priority))
        elif was_active and not now_active and alarm_id in active_since:
            since = active_since.pop(alarm_id)
            if alarm_id.endswith(flood_suffix) and floods[where]:
                floods[where][-1][1] = ts
            _note_stale(stale[where], alarm_id, since, ts, start)

    for alarm_id, since in active_since.items():
        where = alarm_area[alarm_id]
        if not alarm_id.endswith(flood_suffix):
            _note_stale(stale[where], alarm_id, since, end, start, standing=True)

    names = set(activations) | set(floods) | set(stale)
    names |= {name for name, _ in areas.values() if name}
    if area is not None:
        names = {area}

    per_area = {
        name: _area_report(
            activations.get(name, []),
            floods.get(name, []),
            stale.get(name, []),
            start,
            end,
        )
        for name in sorted(names)
    }
    every = [row for name in names for row in activations.get(name, [])]
    every.sort()
    total = _area_report(
        every,
        [period for name in names for period in floods.get(name, [])],
        [entry for name in names for entry in stale.get(name, [])],
        start,
        end,
    )
    return {
        "start": start,
        "end": end,
        "targets": {
            "alarms_per_10_min": TARGET_PER_10_MIN,
            "alarms_per_day": TARGET_PER_DAY,
            "flood_alarms_per_window": settings.flood_alarms,
            "flood_window_s": settings.flood_window_s,
            "priority_mix_percent": TARGET_MIX,
        },
        "areas": per_area,
        "total": total,
    }


def _note_stale(
    entries: list[dict],
    alarm_id: str,
    since: float,
    until: float,
    start: float,
    standing: bool = False,
) -> None:
    if until < start or until - since <= STALE_AFTER_S:
        return
    entries.append(
        {
            "alarm_id": alarm_id,
            "active_since": since,
            "active_s": until - since,
            "still_active": standing,
        }
    )


def _area_report(
    activations: list[tuple[float, str, str]],
    floods: list[list[float]],
    stale: list[dict],
    start: float,
    end: float,
) -> dict:
    duration = end - start
    buckets = Counter(int((ts - start) // TEN_MINUTES_S) for ts, _, _ in activations)
    bucket_count = math.ceil(duration / TEN_MINUTES_S)
    count = len(activations)

    periods = [
        {"start": max(a, start), "end": min(b, end)}
        for a, b in floods
        if b > start and a < end
    ]
    in_flood = sum(period["end"] - period["start"] for period in periods)

    by_alarm = Counter(alarm_id for _, alarm_id, _ in activations)
    by_priority = Counter(priority for _, _, priority in activations)
    return {
        "alarms": count,
        "alarms_per_10_min": {
            "average": count / (duration / TEN_MINUTES_S),
            "max": max(buckets.values(), default=0),
            "periods_over_target": sum(
                1 for value in buckets.values() if value > TARGET_PER_10_MIN
            ),
            "periods": bucket_count,
        },
        "alarms_per_day": count / (duration / DAY_S),
        "floods": periods,
        "time_in_flood_s": in_flood,
        "time_in_flood_percent": 100.0 * in_flood / duration,
        "chattering": _chattering(activations),
        "stale": sorted(stale, key=lambda entry: -entry["active_s"]),
        "most_frequent": [
            {"alarm_id": alarm_id, "count": n, "percent": 100.0 * n / count}
            for alarm_id, n in sorted(by_alarm.items(), key=lambda i: (-i[1], i[0]))[
                :TOP_COUNT
            ]
        ],
        "priority_mix": _priority_mix(by_priority, count),
    }


def _chattering(activations: list[tuple[float, str, str]]) -> list[dict]:
    """Return the alarms with CHATTER_ACTIVATIONS or more activations within
    CHATTER_WINDOW_S, with the largest count in any such window."""
    times: dict[str, list[float]] = defaultdict(list)
    for ts, alarm_id, _ in activations:
        times[alarm_id].append(ts)

    chattering = []
    for alarm_id, stamps in times.items():
        stamps.sort()
        most = 0
        first = 0
        for last, ts in enumerate(stamps):
            while ts - stamps[first] >= CHATTER_WINDOW_S:
                first += 1
            most = max(most, last - first + 1)
        if most >= CHATTER_ACTIVATIONS:
            chattering.append({"alarm_id": alarm_id, "max_per_minute": most})
    chattering.sort(key=lambda entry: (-entry["max_per_minute"], entry["alarm_id"]))
    return chattering


def _priority_mix(by_priority: Counter, count: int) -> dict:
    counts = {
        priority: by_priority.get(priority, 0)
        for priority in ("critical", "high", "medium", "low")
    }
    shares = {
        "high": counts["critical"] + counts["high"],
        "medium": counts["medium"],
        "low": counts["low"],
    }
    percent = {
        name: (100.0 * value / count if count else 0.0)
        for name, value in shares.items()
    }
    return {"counts": counts, "percent": percent}


def format_table(report: dict) -> str:
    """Render the report as Markdown tables, one row per area and a total."""
    lines = [
        "| Area | Alarms | Per 10 min (avg / max) | Per day | Floods | In flood |"
        " Chattering | Stale | High / medium / low % |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = list(report["areas"].items()) + [("total", report["total"])]
    for name, entry in rows:
        mix = entry["priority_mix"]["percent"]
        per_10 = entry["alarms_per_10_min"]
        lines.append(
            f"| {name} | {entry['alarms']} | {per_10['average']:.2f} / {per_10['max']}"
            f" | {entry['alarms_per_day']:.1f} | {len(entry['floods'])}"
            f" | {entry['time_in_flood_percent']:.1f} % | {len(entry['chattering'])}"
            f" | {len(entry['stale'])}"
            f" | {mix['high']:.0f} / {mix['medium']:.0f} / {mix['low']:.0f} |"
        )

    total = report["total"]
    if total["most_frequent"]:
        lines += [
            "",
            "| Most frequent alarm | Count | Share |",
            "| --- | ---: | ---: |",
        ]
        for entry in total["most_frequent"]:
            lines.append(
                f"| {entry['alarm_id']} | {entry['count']} | {entry['percent']:.1f} % |"
            )
    if total["chattering"]:
        lines += [
            "",
            "| Chattering alarm | Max activations in 60 s |",
            "| --- | ---: |",
        ]
        for entry in total["chattering"]:
            lines.append(f"| {entry['alarm_id']} | {entry['max_per_minute']} |")
    if total["stale"]:
        lines += ["", "| Stale alarm (active over 24 h) | Active h |", "| --- | ---: |"]
        for entry in total["stale"]:
            lines.append(f"| {entry['alarm_id']} | {entry['active_s'] / 3600:.1f} |")
    lines.append("")
    lines.append(
        f"Targets: {TARGET_PER_10_MIN:g} alarm per 10 min, {TARGET_PER_DAY:g} a day,"
        " priority mix 5 / 15 / 80 % (critical counts as high)."
    )
    return "\n".join(lines)
