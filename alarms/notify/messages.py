"""Wording of notifications: one short line for SMS, a subject and a body for e-mail.

The short line gives site, state, priority, tag, value with unit, limit and local
time, for example ``Vigie demo network: ALARM high PS1.discharge_pressure = 7.2 bar
(limit 6.5 bar) at 14:05``.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alarms.notify.catalog import AlarmInfo
from alarms.states import PRIORITY_RANK, Transition

# Notification kinds, as stored in the log.
ALARM = "alarm"
ESCALATION = "escalation"
CLEAR = "clear"
SUBSCRIBER = "subscriber"
FLOOD_SUMMARY = "flood_summary"
RATE_SUMMARY = "rate_summary"

HEADLINES = {
    ALARM: "ALARM",
    SUBSCRIBER: "ALARM",
    ESCALATION: "ESCALATED",
    CLEAR: "CLEARED",
}

ELLIPSIS = "..."


@dataclass(frozen=True, slots=True)
class Text:
    """One notification worded for every channel."""

    short: str
    title: str
    body: str


def format_value(value) -> str:
    if isinstance(value, float):
        return str(round(value, 3))
    return str(value)


def local_time(ts: float, tz: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, tz)


def alarm_text(
    site: str,
    info: AlarmInfo,
    transition: Transition,
    kind: str,
    tz: ZoneInfo,
    unacked_s: float | None = None,
) -> Text:
    """Word a notification about one alarm transition.

    ``unacked_s`` is the time without acknowledgement, given for escalations.
    """
    headline = HEADLINES[kind]
    when = local_time(transition.ts, tz)
    unit = f" {info.unit}" if info.unit else ""

    if info.tag is not None and transition.value is not None:
        subject = f"{info.tag} = {format_value(transition.value)}{unit}"
        if info.limit is not None:
            subject += f" (limit {info.limit:g}{unit})"
    else:
        subject = f"{transition.alarm_id}: {transition.message}"

    short = f"{site}: {headline} {transition.priority} {subject} at {when:%H:%M}"
    if unacked_s is not None:
        short += f", not acknowledged for {round(unacked_s / 60)} min"

    state = transition.to_state
    body_lines = [
        f"Site: {site}",
        f"Alarm: {transition.alarm_id}",
        f"Message: {transition.message}",
        f"State: {state} (was {transition.from_state})",
        f"Priority: {transition.priority}",
        f"Value: {format_value(transition.value)}{unit}",
    ]
    if info.limit is not None:
        body_lines.append(f"Limit: {info.limit:g}{unit}")
    body_lines.append(f"Time: {when:%Y-%m-%d %H:%M:%S} ({tz.key})")
    if unacked_s is not None:
        body_lines.append(
            f"Escalated: not acknowledged for {round(unacked_s / 60)} min."
        )
    title = f"[{site}] {headline} {transition.priority} {transition.alarm_id}"
    return Text(short=short, title=title, body="\n".join(body_lines))


def summary_text(
    site: str,
    headline: str,
    alarms: list[tuple[str, str]],
    since_ts: float,
    tz: ZoneInfo,
) -> Text:
    """Word one message that summarises several alarms.

    ``alarms`` contains (alarm id, priority) pairs, oldest first. The message gives
    the count per priority and names the alarms, highest priority first.
    """
    by_priority = Counter(priority for _, priority in alarms)
    ranked = sorted(by_priority, key=lambda p: PRIORITY_RANK.get(p, len(PRIORITY_RANK)))
    counts = ", ".join(f"{by_priority[p]} {p}" for p in ranked)
    top = sorted(
        alarms, key=lambda pair: PRIORITY_RANK.get(pair[1], len(PRIORITY_RANK))
    )
    names = ", ".join(dict.fromkeys(alarm_id for alarm_id, _ in top))
    when = local_time(since_ts, tz)

    short = (
        f"{site}: {headline}: {len(alarms)} alarms since {when:%H:%M} ({counts})."
        f" Top: {names}"
    )
    body = "\n".join(
        [
            f"Site: {site}",
            (
                f"{headline}: {len(alarms)} alarms since"
                f" {when:%Y-%m-%d %H:%M:%S} ({tz.key})."
            ),
            f"By priority: {counts}.",
            "Alarms, highest priority first:",
            *(f"  {alarm_id} ({priority})" for alarm_id, priority in top),
        ]
    )
    title = f"[{site}] {headline}: {len(alarms)} alarms ({counts})"
    return Text(short=short, title=title, body=body)


def fit(text: str, max_chars: int) -> str:
    """Shorten ``text`` to ``max_chars``, ending with ... when it was cut."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - len(ELLIPSIS)].rstrip() + ELLIPSIS
