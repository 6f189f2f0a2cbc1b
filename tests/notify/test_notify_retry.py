"""Failed deliveries are retried with backoff and every attempt is logged."""

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


def build(tmp_path, http_receiver, clock, **extra):
    channels = {
        "hook": {"type": "webhook", "url": f"json://127.0.0.1:{http_receiver.port}/a"}
    }
    contacts = {name: {"hook": ""} for name in ("alice", "bob", "carol", "dave")}
    notifications = basic_notifications(
        channels, contacts, retry_min_s=10, retry_max_s=15, **extra
    )
    return NotificationService(make_config(notifications), tmp_path, clock=clock)


async def test_retry_after_receiver_failure(tmp_path, http_receiver):
    http_receiver.statuses = [500, 500]
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="attempt 1")
        await settle(service)
        assert len(http_receiver.requests) == 1
        clock.advance(10)
        await wait_until(lambda: len(http_receiver.requests) == 2, what="attempt 2")
        clock.advance(15)
        await wait_until(lambda: service.stats()["sent"] == 1, what="attempt 3")

    log = service.log(0, 2e9, alarm_id=ALARM_ID)
    assert [request["status"] for request in http_receiver.requests] == [500, 500, 200]
    assert [entry["result"] for entry in log] == ["retry", "retry", "sent"]
    assert [entry["channel"] for entry in log] == ["hook", "hook", "hook"]
    assert [entry["recipient"] for entry in log] == ["alice", "alice", "alice"]
    assert log[0]["transition"] == "normal->unack_active"
    assert "error=500" in log[0]["error"]
    assert log[2]["error"] == ""
    assert service.stats()["retries"] == 2
    service.close()


async def test_gives_up_after_max_attempts(tmp_path, http_receiver):
    http_receiver.statuses = [500, 500, 500]
    clock = FakeClock()
    service = build(tmp_path, http_receiver, clock, max_attempts=2)

    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: len(http_receiver.requests) == 1, what="attempt 1")
        clock.advance(10)
        await wait_until(lambda: service.stats()["failed"] == 1, what="give up")
        clock.advance(100)
        await settle(service)

    log = service.log(0, 2e9)
    assert len(http_receiver.requests) == 2
    assert [entry["result"] for entry in log] == ["retry", "failed"]
    service.close()
