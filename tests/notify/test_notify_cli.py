"""`vigie notifications log` prints the log that the service wrote."""

from __future__ import annotations

import argparse

from notify_helpers import (
    FakeClock,
    basic_notifications,
    make_config,
    running,
    transition,
    wait_until,
)

from alarms.notify import NotificationService
from vigie.commands import notifications


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigie")
    commands = parser.add_subparsers(dest="command", required=True)
    notifications.register(commands)
    return parser.parse_args(argv)


async def write_log(tmp_path, http_receiver):
    """Log a failed and a successful attempt for one alarm, one sent for another."""
    channels = {
        "sms": {
            "type": "sms",
            "url": f"http://127.0.0.1:{http_receiver.port}/sms",
            "body": "{to}",
            "body_format": "text",
        }
    }
    contacts = {name: {"sms": name} for name in ("alice", "bob", "carol", "dave")}
    config = make_config(
        basic_notifications(channels, contacts, retry_min_s=60),
        data_dir=str(tmp_path),
    )
    http_receiver.statuses = [500]
    clock = FakeClock()
    service = NotificationService(config, tmp_path, clock=clock)
    async with running(service):
        service.submit([transition("normal", "unack_active")])
        await wait_until(lambda: service.stats()["retries"] == 1, what="a retry")
        clock.advance(60)
        await wait_until(lambda: service.stats()["sent"] == 1, what="delivery")
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
        await wait_until(lambda: service.stats()["sent"] == 2, what="delivery")
    service.close()
    return config


async def test_log_filtered_by_alarm(tmp_path, http_receiver, capsys):
    config = await write_log(tmp_path, http_receiver)
    args = parse(
        [
            "notifications",
            "log",
            "--from",
            "2026-01-08T09:59",
            "--to",
            "2026-01-08T10:30",
            "--alarm",
            "PS1.discharge_pressure.high",
        ]
    )
    args.config_model = config

    status = args.handler(args)

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].split() == [
        "time",
        "alarm",
        "transition",
        "kind",
        "recipient",
        "channel",
        "result",
    ]
    assert lines[1].split() == [
        "2026-01-08",
        "10:00:00",
        "PS1.discharge_pressure.high",
        "normal->unack_active",
        "alarm",
        "alice",
        "sms",
        "retry",
        "HTTP",
        "500:",
        "busy",
    ]
    assert lines[2].split()[1] == "10:01:00"
    assert lines[2].split()[-1] == "sent"
    assert lines[3] == "2 entries, times in Africa/Casablanca."
    assert len(lines) == 4


async def test_log_of_all_alarms(tmp_path, http_receiver, capsys):
    config = await write_log(tmp_path, http_receiver)
    args = parse(
        ["notifications", "log", "--from", "2026-01-08T09:59", "--to", "2026-01-08T11"]
    )
    args.config_model = config

    assert args.handler(args) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "3 entries, times in Africa/Casablanca."
    )


def test_log_missing_store(tmp_path, capsys):
    args = parse(["notifications", "log"])
    args.config_model = make_config({}, data_dir=str(tmp_path))

    status = args.handler(args)

    assert status == 1
    assert capsys.readouterr().out == (
        f"vigie: {tmp_path}/notifications.sqlite not found; the notification"
        " service has not run there\n"
    )
