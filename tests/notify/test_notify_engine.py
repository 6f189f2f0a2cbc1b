"""The real alarm engine and the service together, wired as the runtime will."""

from __future__ import annotations

from notify_helpers import (
    ALARM_ID,
    T0,
    FakeClock,
    basic_notifications,
    make_config,
    pressure,
    running,
    settle,
    wait_until,
)

from alarms import AlarmEngine
from alarms.notify import NotificationService

POLICY = {
    "name": "default",
    "steps": [
        {"after_s": 0, "notify": "on_call"},
        {"after_s": 300, "notify": "supervisor"},
    ],
}


def build(tmp_path, http_receiver, **extra):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}|{message}",
            "body_format": "text",
        }
    }
    contacts = {name: {"sms": name} for name in ("alice", "bob", "carol", "dave")}
    config = make_config(
        basic_notifications(channels, contacts, policies=[POLICY], **extra)
    )
    clock = FakeClock()
    engine = AlarmEngine(config, tmp_path / "alarms.sqlite", clock=clock)
    service = NotificationService(config, tmp_path, clock=clock)
    return engine, service, clock


def recipients(http_receiver) -> list[str]:
    return [request["body"].split("|")[0] for request in http_receiver.requests]


async def test_engine_acknowledge_stops_escalation(tmp_path, http_receiver):
    engine, service, clock = build(tmp_path, http_receiver)

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: len(http_receiver.requests) == 1, what="alarm SMS")
        clock.advance(120)
        service.submit([engine.acknowledge(ALARM_ID, "omar")])
        await wait_until(
            lambda: service.stats()["escalations_pending"] == 0, what="ack handled"
        )
        clock.advance(600)
        await settle(service)

    assert recipients(http_receiver) == ["alice"]
    engine.close()
    service.close()


async def test_engine_unacknowledged_escalates(tmp_path, http_receiver):
    engine, service, clock = build(tmp_path, http_receiver)

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: len(http_receiver.requests) == 1, what="alarm SMS")
        # The value returns below the limit, but nobody acknowledged.
        service.submit(pressure(engine, T0 + 60, 6.0))
        clock.advance(300)
        await wait_until(lambda: len(http_receiver.requests) == 2, what="escalation")

    assert recipients(http_receiver) == ["alice", "dave"]
    engine.close()
    service.close()


async def test_subscriber_gets_consumption_alarm(tmp_path, smtp_server):
    port, mailbox = smtp_server
    from notify_helpers import transition

    channels = {
        "mail": {
            "type": "email",
            "url": f"mailto://127.0.0.1:{port}?from=vigie@example.org&mode=insecure",
        }
    }
    contacts = {
        name: {"mail": f"{name}@example.org"}
        for name in ("alice", "bob", "carol", "dave")
    }
    notifications = basic_notifications(
        channels,
        contacts,
        subscribers=[{"tag": "PS1.flow", "contacts": {"mail": "customer@example.org"}}],
    )
    service = NotificationService(
        make_config(notifications), tmp_path, clock=FakeClock()
    )
    leak = transition(
        "normal",
        "unack_active",
        alarm_id="PS1.flow.high_consumption",
        priority="medium",
        value=31.5,
        message="Consumption 31.5 m3/h, 1.8 times last year",
    )

    async with running(service):
        service.submit([leak])
        await wait_until(lambda: len(mailbox.messages) == 2, what="two e-mails")

    by_address = {tuple(rcpt): mail for rcpt, mail in mailbox.messages}
    assert sorted(by_address) == [("alice@example.org",), ("customer@example.org",)]
    mail = by_address[("customer@example.org",)]
    assert mail["Subject"] == "[Test site] ALARM medium PS1.flow.high_consumption"
    entries = service.log(0, 2e9, recipient="subscriber:PS1.flow")
    assert [(e["kind"], e["result"]) for e in entries] == [("subscriber", "sent")]
    service.close()


async def test_other_alarm_not_sent_to_subscriber(tmp_path, smtp_server):
    port, mailbox = smtp_server
    from notify_helpers import transition

    channels = {
        "mail": {
            "type": "email",
            "url": f"mailto://127.0.0.1:{port}?from=vigie@example.org&mode=insecure",
        }
    }
    contacts = {
        name: {"mail": f"{name}@example.org"}
        for name in ("alice", "bob", "carol", "dave")
    }
    notifications = basic_notifications(
        channels,
        contacts,
        subscribers=[{"tag": "PS1.flow", "contacts": {"mail": "customer@example.org"}}],
    )
    service = NotificationService(
        make_config(notifications), tmp_path, clock=FakeClock()
    )

    async with running(service):
        service.submit(
            [
                transition(
                    "normal",
                    "unack_active",
                    alarm_id="PS1.flow.high",
                    priority="low",
                    value=120.0,
                )
            ]
        )
        await wait_until(lambda: len(mailbox.messages) == 1, what="one e-mail")
        await settle(service)

    assert [rcpt for rcpt, _ in mailbox.messages] == [["alice@example.org"]]
    service.close()
