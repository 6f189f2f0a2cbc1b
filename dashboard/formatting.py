"""Text shown to the operator for values, qualities, ages and times."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

MISSING = "—"

STATE_LABELS = {
    "unack_active": "Active, unacknowledged",
    "ack_active": "Active, acknowledged",
    "unack_rtn": "Cleared, unacknowledged",
    "normal": "Normal",
}
UNACKNOWLEDGED_STATES = ("unack_active", "unack_rtn")
# Operator statuses that hide an alarm from the default list.
HIDDEN_STATUSES = ("shelved", "suppressed", "out_of_service")
PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def format_number(value: float) -> str:
    """Format a float with decimals by magnitude: 230.1, 49.98, 0.350."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"

    magnitude = abs(value)
    if magnitude >= 100:
        decimals = 1
    elif magnitude >= 1:
        decimals = 2
    else:
        decimals = 3
    return f"{value:.{decimals}f}"


def format_value(value, unit: str = "") -> str:
    if value is None:
        return MISSING

    if isinstance(value, bool):
        text = "ON" if value else "OFF"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = format_number(value)
    else:
        return str(value)

    if unit and not isinstance(value, bool):
        return f"{text} {unit}"
    return text


def format_quality(quality: str, reason: str = "") -> str:
    if quality == "good" or not reason:
        return quality
    return f"{quality}: {reason}"


def format_age(age_s: float | None) -> str:
    if age_s is None:
        return MISSING
    if abs(age_s) < 10:
        return f"{age_s:.1f} s"
    if abs(age_s) < 120:
        return f"{age_s:.0f} s"
    if abs(age_s) < 7200:
        return f"{age_s / 60:.0f} min"
    return f"{age_s / 3600:.0f} h"


def format_time(ts: float | None, timezone: str) -> str:
    """Format a UTC epoch time as the site's wall-clock time, to the second."""
    if ts is None:
        return MISSING
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S")


def format_clock(ts: float, timezone: str) -> str:
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


def is_stale(tag: dict) -> bool:
    """Return True when a tag's value must not be shown as current."""
    return bool(tag.get("stale")) or tag.get("quality") == "bad"


def is_hidden(alarm: dict) -> bool:
    return alarm.get("status") in HIDDEN_STATUSES


def operator_status(alarm: dict, timezone: str) -> str:
    """Describe what hides an alarm and whether its value is stale, or return ""."""
    parts = []
    status = alarm.get("status")
    if status == "shelved":
        until = alarm.get("shelved_until")
        text = "Shelved"
        if until is not None:
            text += f" until {format_hour(until, timezone)}"
        if alarm.get("shelved_by"):
            text += f" by {alarm['shelved_by']}"
        if alarm.get("shelve_reason"):
            text += f": {alarm['shelve_reason']}"
        parts.append(text)
    elif status == "out_of_service":
        text = "Out of service"
        if alarm.get("out_of_service_by"):
            text += f" by {alarm['out_of_service_by']}"
        if alarm.get("out_of_service_reason"):
            text += f": {alarm['out_of_service_reason']}"
        parts.append(text)
    elif status == "suppressed":
        parts.append("Suppressed")
    if alarm.get("stale"):
        parts.append("stale")
    return "; ".join(parts)


def format_hour(ts: float, timezone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).strftime("%H:%M")


def format_duration(seconds: float) -> str:
    """Format a duration in the largest whole unit: 15 min, 1 h, 8 h, 90 s."""
    for unit_s, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= unit_s and seconds % unit_s == 0:
            return f"{seconds / unit_s:g} {unit}"
    return f"{seconds:g} s"


def sort_alarms(alarms: list[dict]) -> list[dict]:
    """Sort alarms by priority, then oldest first, leaving out normal ones that
    nothing hides."""
    active = [
        alarm for alarm in alarms if alarm.get("state") != "normal" or is_hidden(alarm)
    ]
    return sorted(
        active,
        key=lambda alarm: (
            PRIORITY_RANK.get(alarm.get("priority"), len(PRIORITY_RANK)),
            activation_time(alarm) or 0.0,
        ),
    )


def activation_time(alarm: dict) -> float | None:
    """Return when the alarm last became active, also after a return to normal that
    is not acknowledged yet.

    An alarm in the normal state, shown because it is shelved or out of service,
    gives its last change, and so does an alarm stored before activation times
    were kept.
    """
    active_since = alarm.get("active_since")
    if active_since is None or alarm.get("state") == "normal":
        return alarm.get("since")
    return active_since
