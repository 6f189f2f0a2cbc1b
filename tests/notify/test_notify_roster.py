"""Weekly on-call rotation in the site's time zone, Africa/Casablanca."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from notify_helpers import (
    FakeClock,
    basic_notifications,
    make_config,
    running,
    transition,
    wait_until,
)

from alarms.notify import NotificationService
from alarms.notify.roster import on_call
from vigie.config.notifications import Roster

CASABLANCA = ZoneInfo("Africa/Casablanca")
ROSTER = Roster(
    area="network",
    people=("alice", "bob", "carol"),
    supervisor="dave",
    rotation_start=datetime.date(2026, 1, 5),
    handover_weekday="monday",
    handover_hour=8,
)


def utc(*args) -> float:
    return datetime.datetime(*args, tzinfo=datetime.UTC).timestamp()


def test_handover_at_local_hour():
    # January: Casablanca is UTC+1, so 08:00 local is 07:00 UTC.
    assert on_call(ROSTER, utc(2026, 1, 12, 6, 59, 59), CASABLANCA) == "alice"
    assert on_call(ROSTER, utc(2026, 1, 12, 7, 0, 0), CASABLANCA) == "bob"


def test_rotation_wraps_after_last():
    assert on_call(ROSTER, utc(2026, 1, 19, 7, 0), CASABLANCA) == "carol"
    assert on_call(ROSTER, utc(2026, 1, 26, 7, 0), CASABLANCA) == "alice"


def test_next_on_call():
    assert on_call(ROSTER, utc(2026, 1, 19, 7, 0), CASABLANCA, offset=1) == "alice"


def test_before_rotation_start():
    assert on_call(ROSTER, utc(2026, 1, 1, 12, 0), CASABLANCA) == "alice"
    assert on_call(ROSTER, utc(2026, 1, 5, 6, 59), CASABLANCA) == "alice"


def test_handover_during_ramadan_time():
    # During Ramadan 2026 Morocco runs on UTC+0: the handover of Monday
    # 2026-03-02 happens at 08:00 UTC, an hour later than in January.
    assert CASABLANCA.utcoffset(datetime.datetime(2026, 3, 2, 8)) == datetime.timedelta(
        0
    )
    assert on_call(ROSTER, utc(2026, 3, 2, 7, 30), CASABLANCA) == "bob"
    assert on_call(ROSTER, utc(2026, 3, 2, 8, 0), CASABLANCA) == "carol"


def test_handover_on_other_weekday():
    roster = ROSTER.model_copy(
        update={"handover_weekday": "friday", "handover_hour": 18}
    )
    # The first shift starts on the first Friday on or after 2026-01-05.
    assert on_call(roster, utc(2026, 1, 9, 16, 59), CASABLANCA) == "alice"
    assert on_call(roster, utc(2026, 1, 9, 17, 0), CASABLANCA) == "alice"
    assert on_call(roster, utc(2026, 1, 16, 17, 0), CASABLANCA) == "bob"


async def test_service_follows_week_boundary(tmp_path, http_receiver):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}",
            "body_format": "text",
        }
    }
    contacts = {name: {"sms": name} for name in ("alice", "bob", "carol", "dave")}
    config = make_config(basic_notifications(channels, contacts))
    # Sunday 2026-01-11 23:59 local, in alice's week.
    clock = FakeClock(utc(2026, 1, 11, 22, 59))
    service = NotificationService(config, tmp_path, clock=clock)

    async with running(service):
        service.submit([transition("normal", "unack_active", ts=clock.now)])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="first SMS")
        clock.now = utc(2026, 1, 12, 7, 0)
        service.submit(
            [
                transition(
                    "normal",
                    "unack_active",
                    ts=clock.now,
                    alarm_id="RES1.level.high",
                    priority="medium",
                )
            ]
        )
        await wait_until(lambda: len(http_receiver.requests) == 2, what="second SMS")

    assert [r["body"] for r in http_receiver.requests] == ["alice", "bob"]
    service.close()
