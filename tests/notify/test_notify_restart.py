"""A restarted service neither sends twice nor drops a due escalation."""

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

POLICY = {
    "name": "default",
    "steps": [
        {"after_s": 0, "notify": "on_call"},
        {"after_s": 600, "notify": "supervisor"},
    ],
}


def config_for(http_receiver):
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}|{message}",
            "body_format": "text",
        }
    }
    contacts = {
        "alice": {"sms": "+1001"},
        "bob": {"sms": "+1002"},
        "carol": {"sms": "+1003"},
        "dave": {"sms": "+1009"},
    }
    return make_config(basic_notifications(channels, contacts, policies=[POLICY]))


def numbers(http_receiver) -> list[str]:
    return [request["body"].split("|")[0] for request in http_receiver.requests]


async def test_no_duplicate_across_restart(tmp_path, http_receiver):
    config = config_for(http_receiver)
    clock = FakeClock()
    activation = transition("normal", "unack_active")

    first = NotificationService(config, tmp_path, clock=clock)
    async with running(first):
        first.submit([activation])
        await wait_until(lambda: first.stats()["sent"] == 1, what="first SMS")
    first.close()

    # The same transition again, as a runtime that replays it after a restart.
    second = NotificationService(config, tmp_path, clock=clock)
    async with running(second):
        second.submit([activation])
        await settle(second)

    assert numbers(http_receiver) == ["+1001"]
    assert second.stats()["sent"] == 1
    second.close()


async def test_escalation_due_during_downtime(tmp_path, http_receiver):
    config = config_for(http_receiver)
    clock = FakeClock()

    first = NotificationService(config, tmp_path, clock=clock)
    async with running(first):
        first.submit([transition("normal", "unack_active")])
        await wait_until(lambda: first.stats()["sent"] == 1, what="first SMS")
    first.close()

    # Down for 15 minutes: the supervisor step fell due meanwhile.
    clock.advance(900)
    second = NotificationService(config, tmp_path, clock=clock)
    async with running(second):
        await wait_until(lambda: second.stats()["sent"] == 2, what="escalation")
        await settle(second)
    second.close()

    third = NotificationService(config, tmp_path, clock=clock)
    async with running(third):
        await settle(third)

    assert numbers(http_receiver) == ["+1001", "+1009"]
    message = http_receiver.requests[1]["body"].split("|")[1]
    assert message.endswith("not acknowledged for 15 min")
    assert third.stats()["escalations_pending"] == 0
    third.close()


async def test_pending_delivery_sent_after_restart(tmp_path, http_receiver):
    config = config_for(http_receiver)
    clock = FakeClock()
    http_receiver.statuses = [500]

    first = NotificationService(config, tmp_path, clock=clock)
    async with running(first):
        first.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="attempt 1")
        await wait_until(lambda: first.stats()["retries"] == 1, what="retry noted")
    first.close()

    clock.advance(60)
    second = NotificationService(config, tmp_path, clock=clock)
    async with running(second):
        await wait_until(lambda: second.stats()["sent"] == 1, what="resent")

    assert [r["status"] for r in http_receiver.requests] == [500, 200]
    assert [e["result"] for e in second.log(0, 2e9)] == ["retry", "sent"]
    second.close()
