"""Rate limits per recipient and flood summaries per area."""

from __future__ import annotations

from notify_helpers import (
    FakeClock,
    basic_notifications,
    make_config,
    running,
    settle,
    transition,
    wait_until,
)

from alarms.notify import NotificationService

# (alarm id, priority, value), in the order the alarms arrive.
ALARMS = [
    ("PS1.discharge_pressure.high", "high", 7.2),
    ("PS1.discharge_pressure.low", "medium", 1.2),
    ("PS1.flow.high", "low", 120.0),
    ("RES1.level.high", "medium", 4.7),
    ("RES1.level.high_high", "critical", 4.95),
]


def build(tmp_path, http_receiver, clock, **extra):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}|{message}",
            "body_format": "text",
            "max_chars": 300,
        }
    }
    contacts = {name: {"sms": f"+{name}"} for name in ("alice", "bob", "carol", "dave")}
    notifications = basic_notifications(channels, contacts, **extra)
    return NotificationService(make_config(notifications), tmp_path, clock=clock)


def activations(alarms):
    return [
        transition("normal", "unack_active", alarm_id=alarm_id, priority=p, value=v)
        for alarm_id, p, v in alarms
    ]


def texts(http_receiver) -> list[str]:
    return [request["body"].split("|")[1] for request in http_receiver.requests]


async def test_rate_limit_summarises_excess(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(
        tmp_path,
        http_receiver,
        clock,
        rate_limit={"max_messages": 2, "window_s": 600},
    )

    async with running(service):
        service.submit(activations(ALARMS))
        await wait_until(lambda: len(http_receiver.requests) == 2, what="two SMS")
        await settle(service)
        assert len(http_receiver.requests) == 2
        clock.advance(600)
        await wait_until(lambda: len(http_receiver.requests) == 3, what="summary")
        await settle(service)

    assert len(http_receiver.requests) == 3
    assert texts(http_receiver)[2] == (
        "Test site: RATE LIMIT: 3 alarms since 10:00 (1 critical, 1 medium, 1 low)."
        " Top: RES1.level.high_high, RES1.level.high, PS1.flow.high"
    )
    held = [e["alarm_id"] for e in service.log(0, 2e9) if e["result"] == "held"]
    assert held == ["PS1.flow.high", "RES1.level.high", "RES1.level.high_high"]
    kinds = [e["kind"] for e in service.log(0, 2e9) if e["result"] == "sent"]
    assert kinds == ["alarm", "alarm", "rate_summary"]
    service.close()


async def test_single_held_message_sent_as_is(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(
        tmp_path,
        http_receiver,
        clock,
        rate_limit={"max_messages": 1, "window_s": 300},
    )

    async with running(service):
        service.submit(activations(ALARMS[:2]))
        await wait_until(lambda: len(http_receiver.requests) == 1, what="one SMS")
        clock.advance(300)
        await wait_until(lambda: len(http_receiver.requests) == 2, what="held SMS")

    assert texts(http_receiver)[1] == (
        "Test site: ALARM medium PS1.discharge_pressure = 1.2 bar (limit 1.5 bar)"
        " at 10:00"
    )
    service.close()


async def test_flood_summary_per_interval(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock, flood_summary_interval_s=60)
    flood = transition(
        "normal",
        "unack_active",
        alarm_id="network.flood",
        value=None,
        message="Alarm flood in network",
    )

    async with running(service):
        service.submit([flood])
        service.submit(activations(ALARMS[1:]))
        await wait_until(lambda: len(http_receiver.requests) == 1, what="flood SMS")
        await settle(service)
        assert len(http_receiver.requests) == 1
        clock.advance(60)
        await wait_until(lambda: len(http_receiver.requests) == 2, what="summary")

        # The flood ends: the next alarm is sent on its own again.
        clock.advance(10)
        service.submit(
            [
                transition(
                    "unack_active", "unack_rtn", alarm_id="network.flood", value=None
                )
            ]
        )
        service.submit(activations(ALARMS[:1]))
        await wait_until(lambda: len(http_receiver.requests) == 3, what="alarm SMS")
        await settle(service)

    assert texts(http_receiver) == [
        "Test site: ALARM high network.flood: Alarm flood in network at 10:00",
        (
            "Test site: FLOOD in network: 4 alarms since 10:00 (1 critical, 2 medium,"
            " 1 low). Top: RES1.level.high_high, PS1.discharge_pressure.low,"
            " RES1.level.high, PS1.flow.high"
        ),
        (
            "Test site: ALARM high PS1.discharge_pressure = 7.2 bar (limit 6.5 bar)"
            " at 10:00"
        ),
    ]
    service.close()


async def test_flood_end_flushes_buffer(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock, flood_summary_interval_s=600)
    flood = transition(
        "normal", "unack_active", alarm_id="network.flood", value=None, message="Flood"
    )

    async with running(service):
        service.submit([flood, *activations(ALARMS[:2])])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="flood SMS")
        clock.advance(30)
        service.submit(
            [
                transition(
                    "unack_active", "ack_active", alarm_id="network.flood", user="omar"
                )
            ]
        )
        service.submit(
            [transition("ack_active", "normal", alarm_id="network.flood", value=None)]
        )
        await wait_until(lambda: len(http_receiver.requests) == 2, what="last summary")

    assert texts(http_receiver)[1] == (
        "Test site: FLOOD in network: 2 alarms since 10:00 (1 high, 1 medium)."
        " Top: PS1.discharge_pressure.high, PS1.discharge_pressure.low"
    )
    service.close()
