"""Reconnect backoff, communication-loss reporting and the poll loop of collectors."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from vigie.model import ConnectionState, DeviceStatus, Quality, Reason, Sample

log = logging.getLogger(__name__)

Publish = Callable[[list[Sample]], None]


class Backoff:
    """Capped exponential reconnect delays with jitter.

    Each call to ``next_delay()`` doubles the base delay, from ``min_s`` up to
    ``max_s``, and returns a random delay between half the base and the base, never
    below ``min_s``. ``reset()`` after a successful connection starts again at
    ``min_s``.
    """

    def __init__(
        self,
        min_s: float,
        max_s: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.min_s = min_s
        self.max_s = max(min_s, max_s)
        self.attempts = 0
        self._rng = rng

    def next_delay(self) -> float:
        base = min(self.max_s, self.min_s * 2.0 ** min(self.attempts, 60))
        self.attempts += 1
        return max(self.min_s, base * (0.5 + 0.5 * self._rng()))

    def reset(self) -> None:
        self.attempts = 0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``. Returns True when ``stop`` is set."""
    if stop.is_set():
        return True
    if seconds <= 0:
        return False
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def full_tag_names(device) -> list[str]:
    return [f"{device.name}.{tag.name}" for tag in device.tags]


def bad_batch(tags: list[str], ts: float, reason: str) -> list[Sample]:
    return [Sample(tag, ts, None, Quality.BAD, reason) for tag in tags]


class CommLoss:
    """Reports a lost device link once per transition, and its recovery.

    ``report()`` sets the device DISCONNECTED with the error and, only when the state
    changes, publishes one batch with every tag of the device BAD, reason
    ``comm_failure`` and value None. ``restore()`` sets the device CONNECTED, so that
    the next ``report()`` publishes again.
    """

    def __init__(self, device, publish: Publish, status: DeviceStatus) -> None:
        self.device = device
        self.publish = publish
        self.status = status
        self.tags = full_tag_names(device)

    def report(self, error: str, now: float | None = None) -> bool:
        """Mark the device disconnected. Returns True when this changed the state."""
        now = time.time() if now is None else now
        changed = self.status.set_state(ConnectionState.DISCONNECTED, now, error)
        if not changed:
            return False

        log.warning("device %s: communication lost: %s", self.device.name, error)
        self.publish(bad_batch(self.tags, now, Reason.COMM_FAILURE))
        return True

    def restore(self, now: float | None = None) -> bool:
        """Mark the device connected. Returns True when this changed the state."""
        now = time.time() if now is None else now
        first = self.status.state is ConnectionState.STARTING
        changed = self.status.set_state(ConnectionState.CONNECTED, now)
        if changed and first:
            log.info("device %s: communication established", self.device.name)
        elif changed:
            log.info("device %s: communication restored", self.device.name)
        return changed


async def poll_every(
    stop: asyncio.Event,
    interval_s: float,
    poll: Callable[[], Awaitable[bool]],
    status: DeviceStatus,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Run ``poll`` at a fixed interval until ``stop`` is set or ``poll`` returns False.

    Ticks fall on a fixed grid from the first poll. When a poll overruns, the ticks it
    overran are skipped and counted in ``status.skipped_polls`` rather than queued, so
    a slow device is never polled back to back. Returns True when ``stop`` ended the
    loop and False when ``poll`` did.
    """
    next_tick = clock()
    while not stop.is_set():
        if not await poll():
            return False

        now = clock()
        next_tick += interval_s
        if now > next_tick:
            missed = int((now - next_tick) // interval_s) + 1
            status.skipped_polls += missed
            next_tick += missed * interval_s
            log.debug("device %s: poll overran, skipped %d ticks", status.name, missed)

        if await wait_or_stop(stop, next_tick - now):
            return True
    return True


class RepeatLimiter:
    """Decides when a repeated condition is logged: on change, then once per period.

    ``check(key, condition)`` returns None while ``condition`` repeats within
    ``period_s`` of its last log line. Otherwise it returns how many repeats went
    unlogged since that line (0 for a new condition), and the caller logs.
    """

    def __init__(
        self, period_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.period_s = period_s
        self.clock = clock
        # key -> (condition, time of its last log line, repeats since then)
        self._last: dict[object, tuple[str, float, int]] = {}

    def check(self, key: object, condition: str) -> int | None:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and last[0] == condition and now - last[1] < self.period_s:
            self._last[key] = (condition, last[1], last[2] + 1)
            return None

        repeats = last[2] if last is not None and last[0] == condition else 0
        self._last[key] = (condition, now, 0)
        return repeats

    def holds_any(self) -> bool:
        """True when a condition is recorded for some key; cheaper than clear()."""
        return bool(self._last)

    def clear(self, key: object) -> bool:
        """Forget ``key``. Returns True when a condition was recorded for it."""
        return self._last.pop(key, None) is not None
