"""Times and intervals given on the command line, in the same forms for every command.

A time is ``now``, a time relative to now such as ``-1h`` or ``-7d``, seconds since
the epoch, or ISO 8601. ISO 8601 without an offset is in the site time zone.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
EPOCH = re.compile(r"^\d+(\.\d+)?$")
# Options whose value may start with "-", such as --from -1h.
TIME_OPTIONS = ("--from", "--to")

TIME_FORMS = (
    "use now, a relative time such as -1h or -7d, seconds since the epoch, or ISO"
    " 8601 such as 2024-06-01T06:00 (site time without an offset)"
)


def parse_duration(text: str) -> float:
    """Return the seconds of an interval such as 30s, 5m, 1h, 1d or 1w.

    Raises ValueError for any other text and for a zero interval.
    """
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(
            f"invalid interval {text!r}: use a number and a unit s, m, h, d or w,"
            " such as 1m"
        )
    seconds = float(match.group(1)) * UNITS_S[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"invalid interval {text!r}: it must be above 0")
    return seconds


def parse_time(
    text: str, zone: ZoneInfo, now: float | None = None, name: str = "time"
) -> float:
    """Return seconds since the epoch of a time in any of the forms above.

    Raises ValueError naming the option or parameter ``name``, the text and the
    forms accepted.
    """
    now = time.time() if now is None else now
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("-"):
        try:
            return now - parse_duration(text[1:])
        except ValueError:
            raise ValueError(f"invalid {name} {text!r}: {TIME_FORMS}") from None
    if EPOCH.match(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid {name} {text!r}: {TIME_FORMS}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def join_time_options(argv: list[str]) -> list[str]:
    """Return ``argv`` with ``--from -1h`` written as ``--from=-1h``.

    argparse reads a value that starts with "-" as an option, so a relative time
    would otherwise be rejected as a missing value.
    """
    joined: list[str] = []
    values = iter(argv)
    for argument in values:
        if argument in TIME_OPTIONS:
            value = next(values, None)
            if value is None:
                joined.append(argument)
            elif value.startswith("-") and not value.startswith("--"):
                joined.append(f"{argument}={value}")
            else:
                joined.extend([argument, value])
            continue
        joined.append(argument)
    return joined
