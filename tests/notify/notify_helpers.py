"""Config builder, fake clock and polling helper for the notification tests."""

from __future__ import annotations

import asyncio
import contextlib
import datetime

from alarms import AlarmEngine, AlarmState, Transition
from alarms.notify import NotificationService
from vigie.config import Config
from vigie.model import Sample

SITE = "Test site"
TZ = "Africa/Casablanca"
# Thursday 2026-01-08 10:00 in Casablanca (UTC+1 in January): alice's week.
T0 = datetime.datetime(2026, 1, 8, 9, 0, tzinfo=datetime.UTC).timestamp()
ALARM_ID = "PS1.discharge_pressure.high"


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(notifications: dict, data_dir: str = "data") -> Config:
    """Build a site with PS1 (pressure with a high alarm) and RES1 (level, flow)."""
    return Config.model_validate(
        {
            "site": {"name": SITE, "timezone": TZ},
            "data_dir": data_dir,
            "devices": [
                {
                    "name": "PS1",
                    "protocol": "modbus_tcp",
                    "tags": [
                        {
                            "name": "discharge_pressure",
                            "address": 0,
                            "unit": "bar",
                            "description": "Discharge pressure",
                            "alarms": [
                                {"type": "high", "limit": 6.5, "priority": "high"},
                                {"type": "low", "limit": 1.5, "priority": "medium"},
                            ],
                        },
                        {
                            "name": "flow",
                            "address": 1,
                            "unit": "m3/h",
                            "alarms": [
                                {"type": "high", "limit": 100, "priority": "low"},
                            ],
                        },
                    ],
                },
                {
                    "name": "RES1",
                    "protocol": "modbus_tcp",
                    "tags": [
                        {
                            "name": "level",
                            "address": 0,
                            "unit": "m",
                            "alarms": [
                                {"type": "high", "limit": 4.6, "priority": "medium"},
                                {
                                    "type": "high_high",
                                    "limit": 4.9,
                                    "priority": "critical",
                                },
                            ],
                        }
                    ],
                },
            ],
            "notifications": notifications,
        }
    )


def basic_notifications(channels: dict, contacts: dict, **extra) -> dict:
    """One roster over every device with alice, bob and carol, supervisor dave."""
    people = ["alice", "bob", "carol", "dave"]
    section = {
        "channels": channels,
        "recipients": [{"name": name, "contacts": contacts[name]} for name in people],
        "rosters": [
            {
                "area": "network",
                "people": ["alice", "bob", "carol"],
                "supervisor": "dave",
                "rotation_start": "2026-01-05",
                "handover_weekday": "monday",
                "handover_hour": 8,
            }
        ],
    }
    section.update(extra)
    return section


def pressure(engine: AlarmEngine, ts: float, value: float):
    return engine.process([Sample("PS1.discharge_pressure", ts, value)])


async def wait_until(condition, timeout_s: float = 10.0, what: str = "condition"):
    """Poll ``condition`` every 20 ms until it is true; fail after ``timeout_s``."""
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running(service: NotificationService):
    """Run the service in a task; stop it and wait for it on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def settle(service: NotificationService, ticks: int = 5) -> None:
    """Wait until the service loop has run ``ticks`` more passes."""
    target = service.stats()["ticks"] + ticks
    await wait_until(lambda: service.stats()["ticks"] >= target, what="loop passes")


def results(service: NotificationService, **filters) -> list[str]:
    return [entry["result"] for entry in service.log(0, 2e9, **filters)]


def transition(
    from_state: str,
    to_state: str,
    ts: float = T0,
    value=7.2,
    alarm_id: str = ALARM_ID,
    priority: str = "high",
    user: str | None = None,
    message: str = "Discharge pressure above 6.5 bar",
    **extra,
) -> Transition:
    """Build a transition as the alarm engine reports it.

    ``extra`` sets the engine's optional fields, such as ``area`` and ``shown``.
    """
    return Transition(
        alarm_id=alarm_id,
        ts=ts,
        from_state=AlarmState(from_state) if from_state in STATES else from_state,
        to_state=AlarmState(to_state) if to_state in STATES else to_state,
        value=value,
        user=user,
        reason="",
        priority=priority,
        message=message,
        **extra,
    )


STATES = {state.value for state in AlarmState}
