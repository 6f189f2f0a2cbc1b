"""Delivery by e-mail, SMS gateway and webhook to real local receivers."""

from __future__ import annotations

import json

from notify_helpers import (
    ALARM_ID,
    T0,
    FakeClock,
    basic_notifications,
    make_config,
    pressure,
    results,
    running,
    wait_until,
)

from alarms import AlarmEngine
from alarms.notify import NotificationService

SHORT = (
    "Test site: ALARM high PS1.discharge_pressure = 7.2 bar (limit 6.5 bar) at 10:00"
)


def build(tmp_path, channels, contacts, env=None, **extra):
    config = make_config(basic_notifications(channels, contacts, **extra))
    clock = FakeClock()
    engine = AlarmEngine(config, tmp_path / "alarms.sqlite", clock=clock)
    service = NotificationService(config, tmp_path, clock=clock, env=env or {})
    return engine, service


def everyone(contacts: dict) -> dict:
    return {name: contacts for name in ("alice", "bob", "carol", "dave")}


async def test_email_over_smtp(tmp_path, smtp_server):
    port, mailbox = smtp_server
    channels = {
        "mail": {
            "type": "email",
            "url": f"mailto://127.0.0.1:{port}?from=vigie@example.org&mode=insecure",
        }
    }
    contacts = everyone({"mail": "other@example.org"})
    contacts["alice"] = {"mail": "alice@example.org"}
    engine, service = build(tmp_path, channels, contacts)

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: mailbox.messages, what="an e-mail")

    rcpt_tos, mail = mailbox.messages[0]
    assert len(mailbox.messages) == 1
    assert rcpt_tos == ["alice@example.org"]
    assert mail["Subject"] == "[Test site] ALARM high PS1.discharge_pressure.high"
    assert mail["From"] == "vigie@example.org"
    body = mail.get_body(preferencelist=("plain",)).get_content().strip()
    assert body.splitlines() == [
        "Site: Test site",
        f"Alarm: {ALARM_ID}",
        "Message: Discharge pressure above 6.5 bar",
        "State: unack_active (was normal)",
        "Priority: high",
        "Value: 7.2 bar",
        "Limit: 6.5 bar",
        "Time: 2026-01-08 10:00:00 (Africa/Casablanca)",
    ]
    assert results(service) == ["sent"]
    engine.close()
    service.close()


async def test_sms_gateway_template(tmp_path, http_receiver):
    channels = {
        "sms": {
            "type": "sms",
            "method": "POST",
            "url": f"http://127.0.0.1:{http_receiver.port}/api/send?sender=VIGIE",
            "headers": {"Authorization": "Bearer {token}"},
            "body": '{"messages": [{"to": "{to}", "text": "{message}"}]}',
            "body_format": "json",
            "token_env": "TEST_SMS_TOKEN",
        }
    }
    contacts = everyone({"sms": "+212600000000"})
    contacts["alice"] = {"sms": "+212611111111"}
    engine, service = build(
        tmp_path, channels, contacts, env={"TEST_SMS_TOKEN": "s3cret"}
    )

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: http_receiver.requests, what="an SMS request")

    request = http_receiver.requests[0]
    assert len(http_receiver.requests) == 1
    assert request["method"] == "POST"
    assert request["path"] == "/api/send?sender=VIGIE"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {
        "messages": [{"to": "+212611111111", "text": SHORT}]
    }
    assert len(SHORT) <= 160
    assert results(service) == ["sent"]
    engine.close()
    service.close()


async def test_sms_cut_to_160_characters(tmp_path, http_receiver):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/send",
            "body": "to={to}&text={message}",
            "body_format": "form",
        }
    }
    config = make_config(
        basic_notifications(channels, everyone({"sms": "+212600000000"}))
    )
    long_site = config.site.model_copy(update={"name": "S" * 120})
    config = config.model_copy(update={"site": long_site})
    clock = FakeClock()
    engine = AlarmEngine(config, tmp_path / "alarms.sqlite", clock=clock)
    service = NotificationService(config, tmp_path, clock=clock, env={})

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: http_receiver.requests, what="an SMS request")

    from urllib.parse import parse_qs

    form = parse_qs(http_receiver.requests[0]["body"])
    assert form["to"] == ["+212600000000"]
    assert len(form["text"][0]) == 160
    assert form["text"][0].endswith("...")
    engine.close()
    service.close()


async def test_webhook_json(tmp_path, http_receiver):
    channels = {
        "hook": {
            "type": "webhook",
            "url": f"json://127.0.0.1:{http_receiver.port}/alarms",
        }
    }
    engine, service = build(tmp_path, channels, everyone({"hook": ""}))

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: http_receiver.requests, what="a webhook request")

    request = http_receiver.requests[0]
    payload = json.loads(request["body"])
    assert len(http_receiver.requests) == 1
    assert request["path"] == "/alarms"
    assert payload["title"] == "[Test site] ALARM high PS1.discharge_pressure.high"
    assert payload["message"] == SHORT
    engine.close()
    service.close()


async def test_missing_secret_fails_delivery(tmp_path, http_receiver):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/send",
            "body": "{to} {message}",
            "body_format": "text",
            "token_env": "TEST_UNSET_TOKEN",
        }
    }
    engine, service = build(
        tmp_path, channels, everyone({"sms": "+212600000000"}), max_attempts=1
    )

    async with running(service):
        service.submit(pressure(engine, T0, 7.2))
        await wait_until(lambda: results(service), what="a logged attempt")

    entry = service.log(0, 2e9)[0]
    assert entry["result"] == "failed"
    assert entry["error"] == "environment variable TEST_UNSET_TOKEN is not set"
    assert http_receiver.requests == []
    engine.close()
    service.close()
