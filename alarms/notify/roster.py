"""On-call rotation: weekly shifts of a roster in the site's time zone."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from vigie.config.notifications import WEEKDAYS, Roster

WEEK = datetime.timedelta(days=7)


def shift_index(roster: Roster, ts: float, tz: ZoneInfo) -> int:
    """Return the number of handovers between the first shift and ``ts``.

    Handovers happen at ``handover_hour`` local time on ``handover_weekday``, so a
    change of UTC offset (summer time, Ramadan time in Morocco) moves them with
    the local clock. Before the first handover the index is 0.
    """
    first = _first_handover(roster, tz)
    now = datetime.datetime.fromtimestamp(ts, tz)
    if now < first:
        return 0

    weekday = WEEKDAYS.index(roster.handover_weekday)
    days_back = (now.weekday() - weekday) % 7
    last_date = now.date() - datetime.timedelta(days=days_back)
    last = _local(last_date, roster.handover_hour, tz)
    if last > now:
        last_date -= WEEK
    return (last_date - first.date()).days // 7


def on_call(roster: Roster, ts: float, tz: ZoneInfo, offset: int = 0) -> str:
    """Return the person on call at ``ts``; ``offset`` 1 is the next in rotation."""
    people = roster.people
    return people[(shift_index(roster, ts, tz) + offset) % len(people)]


def _first_handover(roster: Roster, tz: ZoneInfo) -> datetime.datetime:
    weekday = WEEKDAYS.index(roster.handover_weekday)
    start = roster.rotation_start
    days_ahead = (weekday - start.weekday()) % 7
    return _local(start + datetime.timedelta(days=days_ahead), roster.handover_hour, tz)


def _local(date: datetime.date, hour: int, tz: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(date, datetime.time(hour), tzinfo=tz)
