"""Escalation to the next person and the supervisor, stopped by an acknowledge."""

from __future__ import annotations

from notify_helpers import (
    ALARM_ID,
    FakeClock,
    basic_notifications,
    make_config,
    running,
    settle,
    transition,
    wait_until,
)

from alarms.notify import NotificationService

ESCALATION = {
    "name": "default",
    "steps": [
        {"after_s": 0, "notify": "on_call"},
        {"after_s": 600, "notify": "next_on_call"},
        {"after_s": 1200, "notify": "supervisor"},
    ],
    "notify_on_clear": True,
}


def build(tmp_path, http_receiver, clock, **extra):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}|{message}",
            "body_format": "text",
        }
    }
    contacts = {
        name: {"sms": number}
        for name, number in (
            ("alice", "+1001"),
            ("bob", "+1002"),
            ("carol", "+1003"),
            ("dave", "+1009"),
        )
    }
    notifications = basic_notifications(
        channels, contacts, policies=[ESCALATION], **extra
    )
    return NotificationService(make_config(notifications), tmp_path, clock=clock)


def sent_to(http_receiver) -> list[str]:
    return [request["body"].split("|")[0] for request in http_receiver.requests]


async def test_escalates_next_then_supervisor(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="first SMS")
        clock.advance(599)
        await settle(service)
        assert len(http_receiver.requests) == 1
        clock.advance(1)
        await wait_until(lambda: len(http_receiver.requests) == 2, what="step 1")
        clock.advance(600)
        await wait_until(lambda: len(http_receiver.requests) == 3, what="step 2")

    # alice is on call in the week from 2026-01-05, so bob is next.
    assert sent_to(http_receiver) == ["+1001", "+1002", "+1009"]
    escalated = http_receiver.requests[1]["body"].split("|")[1]
    assert escalated == (
        "Test site: ESCALATED high PS1.discharge_pressure = 7.2 bar (limit 6.5 bar)"
        " at 10:00, not acknowledged for 10 min"
    )
    kinds = [entry["kind"] for entry in service.log(0, 2e9)]
    assert kinds == ["alarm", "escalation", "escalation"]
    assert service.stats()["escalations_pending"] == 0
    service.close()


async def test_acknowledge_stops_escalation(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="first SMS")
        clock.advance(300)
        service.submit([transition("unack_active", "ack_active", user="omar")])
        await wait_until(
            lambda: service.stats()["escalations_pending"] == 0, what="ack handled"
        )
        clock.advance(3600)
        # Several ticks pass at the later time; nothing more may be sent.
        await settle(service)

    assert sent_to(http_receiver) == ["+1001"]
    service.close()


async def test_acknowledge_after_return_stops(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="first SMS")
        service.submit([transition("unack_active", "unack_rtn", value=6.0)])
        await wait_until(lambda: len(http_receiver.requests) == 2, what="clear SMS")
        service.submit([transition("unack_rtn", "normal", value=6.0, user="omar")])
        await wait_until(
            lambda: service.stats()["escalations_pending"] == 0, what="ack handled"
        )
        clock.advance(3600)
        await settle(service)

    assert sent_to(http_receiver) == ["+1001", "+1001"]
    cleared = http_receiver.requests[1]["body"].split("|")[1]
    assert cleared == (
        "Test site: CLEARED high PS1.discharge_pressure = 6.0 bar (limit 6.5 bar)"
        " at 10:00"
    )
    service.close()


async def test_shelved_alarm_not_notified(tmp_path, http_receiver):
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="first SMS")
        service.submit([transition("unack_active", "shelved", user="omar")])
        service.submit(
            [
                transition(
                    "normal", "unack_active", alarm_id="PS1.flow.high", shown=False
                )
            ]
        )
        for state in ("suppressed", "out_of_service"):
            service.submit([transition("normal", state, alarm_id="RES1.level.high")])
        await wait_until(
            lambda: service.stats()["escalations_pending"] == 0, what="shelve handled"
        )
        clock.advance(3600)
        await settle(service)

    assert sent_to(http_receiver) == ["+1001"]
    assert [entry["alarm_id"] for entry in service.log(0, 2e9)] == [ALARM_ID]
    service.close()
