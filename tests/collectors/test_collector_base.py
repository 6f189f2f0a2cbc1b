from __future__ import annotations

import asyncio

from vigie.config import ModbusDevice
from vigie.model import ConnectionState, DeviceStatus, Quality, Sample

from collectors import make_collector
from collectors.base import Backoff, CommLoss, RepeatLimiter, poll_every, wait_or_stop
from collectors.modbus.collector import ModbusCollector


def test_backoff_doubles_to_cap_and_resets():
    high = Backoff(0.5, 4.0, rng=lambda: 1.0)
    assert [high.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    high.reset()
    assert high.next_delay() == 0.5


def test_backoff_jitter_stays_within_bounds():
    low = Backoff(0.5, 4.0, rng=lambda: 0.0)
    # Half the base delay, but never below the minimum.
    assert [low.next_delay() for _ in range(5)] == [0.5, 0.5, 1.0, 2.0, 2.0]
    assert low.attempts == 5


async def test_wait_or_stop():
    stop = asyncio.Event()
    assert await wait_or_stop(stop, 0.01) is False
    assert await wait_or_stop(stop, 0) is False

    stop.set()
    assert await wait_or_stop(stop, 30) is True


async def test_poll_loop_skips_overrun_ticks():
    # A fake clock makes the overrun exact: the first poll takes 2.5 intervals.
    clock = [0.0]
    durations = [0.025, 0.0, 0.0]
    polls = []
    stop = asyncio.Event()
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")

    async def poll() -> bool:
        polls.append(clock[0])
        clock[0] += durations[len(polls) - 1]
        if len(polls) == len(durations):
            stop.set()
        return True

    ended_by_stop = await poll_every(stop, 0.01, poll, status, clock=lambda: clock[0])

    assert ended_by_stop is True
    assert len(polls) == 3
    assert status.skipped_polls == 2  # ticks at 0.01 and 0.02


async def test_poll_loop_ends_when_poll_fails():
    stop = asyncio.Event()
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")
    results = [True, True, False, True]

    async def poll() -> bool:
        return results.pop(0)

    # A clock that does not advance makes every poll instant, so none overruns.
    ended_by_stop = await poll_every(stop, 0.001, poll, status, clock=lambda: 0.0)

    assert ended_by_stop is False
    assert results == [True]
    assert status.skipped_polls == 0


def test_comm_loss_publishes_once_per_transition():
    device = ModbusDevice.model_validate(
        {
            "name": "PS1",
            "protocol": "modbus_tcp",
            "tags": [{"name": "a", "address": 0}, {"name": "b", "address": 1}],
        }
    )
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")
    batches: list[list[Sample]] = []
    changes = []
    status.listeners.append(lambda s, now: changes.append((s.state, now)))
    loss = CommLoss(device, batches.append, status)

    assert loss.report("timed out", now=10.0) is True
    assert loss.report("timed out again", now=11.0) is False
    assert batches == [
        [
            Sample("PS1.a", 10.0, None, Quality.BAD, "comm_failure"),
            Sample("PS1.b", 10.0, None, Quality.BAD, "comm_failure"),
        ]
    ]
    assert status.state is ConnectionState.DISCONNECTED
    assert status.last_error == "timed out again"

    assert loss.restore(now=12.0) is True
    assert loss.restore(now=13.0) is False
    assert loss.report("refused", now=14.0) is True
    assert len(batches) == 2
    assert [s.ts for s in batches[1]] == [14.0, 14.0]
    assert changes == [
        (ConnectionState.DISCONNECTED, 10.0),
        (ConnectionState.CONNECTED, 12.0),
        (ConnectionState.DISCONNECTED, 14.0),
    ]


def test_make_collector_picks_modbus():
    device = ModbusDevice.model_validate(
        {"name": "PS1", "protocol": "modbus_tcp", "tags": [{"name": "a", "address": 0}]}
    )
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")

    collector = make_collector(device, lambda batch: None, status)

    assert type(collector) is ModbusCollector
    assert collector.device is device


def test_repeat_limiter_logs_changes_and_once_a_minute():
    clock = [0.0]
    limiter = RepeatLimiter(60.0, clock=lambda: clock[0])

    assert limiter.check("holding 0", "unit mismatch") == 0
    clock[0] = 30.0
    assert limiter.check("holding 0", "unit mismatch") is None
    assert limiter.check("holding 0", "unit mismatch") is None
    clock[0] = 61.0
    assert limiter.check("holding 0", "unit mismatch") == 2
    assert limiter.check("holding 0", "short reply") == 0
    assert limiter.clear("holding 0") is True
    assert limiter.clear("holding 0") is False
