"""Parsing of times, ranges and intervals given by the HTTP API and the trend form."""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo

from vigie import times

# Most buckets one aggregate query of the HTTP API may return.
MAX_BUCKETS = 100_000

DURATION_UNITS_S = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d)?\s*$")


class ParameterError(ValueError):
    """A request parameter that cannot be used; the message names it and the fix."""


def parse_time(text: str, timezone: str, name: str) -> float:
    """Return epoch seconds of the ``name`` parameter, in the forms of the CLI.

    An ISO time without an offset is taken in the site's ``timezone``. In the
    repeated hour of a clock change it is the first of the two.
    """
    try:
        return times.parse_time(text, ZoneInfo(timezone), name=name)
    except ValueError as error:
        raise ParameterError(str(error)) from None


def parse_range(
    args, timezone: str, now: float, default_s: float
) -> tuple[float, float]:
    """Return (start, end) from the ``from`` and ``to`` parameters.

    ``to`` defaults to ``now`` and ``from`` to ``default_s`` before ``to``.
    """
    end = now
    if args.get("to"):
        end = parse_time(args["to"], timezone, "to")
    start = end - default_s
    if args.get("from"):
        start = parse_time(args["from"], timezone, "from")
    if end <= start:
        raise ParameterError(
            f"invalid range: to ({end:g}) must be after from ({start:g})"
        )
    return start, end


def parse_duration(text: str, name: str) -> float:
    """Parse a positive duration: seconds, or a number with s, m, min, h or d."""
    match = DURATION_PATTERN.match(text)
    if match is None:
        raise ParameterError(
            f"invalid {name} {text!r}: expected seconds or a number with s, m, h or"
            " d, such as 60 or 5m"
        )
    seconds = float(match.group(1)) * DURATION_UNITS_S[match.group(2) or ""]
    if seconds <= 0:
        raise ParameterError(f"invalid {name} {text!r}: it must be positive")
    return seconds


def check_bucket_count(start: float, end: float, every_s: float) -> None:
    count = math.ceil((end - start) / every_s)
    if count > MAX_BUCKETS:
        raise ParameterError(
            f"every={every_s:g} s gives {count} buckets over this range, more than"
            f" {MAX_BUCKETS}; use a longer interval or a shorter range"
        )
