"""The notification service: alarm transitions in, e-mail, SMS and webhooks out."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from alarms.notify.channels import SendError, make_senders
from alarms.notify.messages import Text
from alarms.notify.router import Router
from alarms.notify.store import (
    FAILED,
    PENDING,
    SENT,
    STORE_NAME,
    Delivery,
    NotificationStore,
)
from alarms.states import Transition
from vigie.config import Config

log = logging.getLogger(__name__)

# Seconds between checks of timers (escalations, retries, flood summaries) when
# no transition arrives. The clock may be a test clock, so timers are compared
# with its time on every tick.
TICK_S = 0.05
# Deliveries in flight at once.
MAX_IN_FLIGHT = 8


class NotificationService:
    """Sends alarm notifications to on-call staff and escalates unacknowledged ones.

    ``submit`` may be called from any thread. ``run`` does all the work in the
    event loop; the store it writes is ``<data_dir>/notifications.sqlite``.
    ``env`` supplies the secrets named in the config (default: os.environ).
    """

    def __init__(
        self,
        config: Config,
        data_dir: str | os.PathLike,
        clock: Callable[[], float] = time.time,
        site_tz: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config.notifications
        self._clock = clock
        tz = ZoneInfo(site_tz or config.site.timezone)
        self._store = NotificationStore(Path(data_dir) / STORE_NAME)
        self._router = Router(config, self._store, tz)
        self._senders = make_senders(self._config.channels, env)

        self._inbox: collections.deque[Transition] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._in_flight: dict[int, asyncio.Task] = {}
        self._counter_lock = threading.Lock()
        self._retries = 0
        self._last_error = ""
        # Loop passes since start; a value that stops growing means a stuck loop.
        self._ticks = 0
        self._warn_unknown_names(config)

    def submit(self, transitions: Iterable[Transition]) -> None:
        """Queue transitions for the event loop: append to a deque, wake the loop."""
        if not self._config.enabled:
            return
        self._inbox.extend(transitions)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver, escalate and retry until ``stop`` is set, then drain briefly.

        Deliveries still due when the drain time is over stay pending in the
        store and go out after the next start.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        log.info(
            "notification service started: %d channels, %d rosters, store %s",
            len(self._senders),
            len(self._router.catalog.rosters),
            self._store.path,
        )
        try:
            while not stop.is_set():
                self._tick()
                await self._sleep()
            await self._drain()
        finally:
            for sender in self._senders.values():
                await sender.close()
            self._loop = None
            log.info("notification service stopped: %s", self.stats())

    def log(
        self,
        start: float,
        end: float,
        alarm_id: str | None = None,
        recipient: str | None = None,
    ) -> list[dict]:
        """Return the logged attempts with start <= ts <= end, oldest first.

        Each entry has ts, alarm_id, transition, kind, recipient, channel, result
        (sent, retry, failed or held) and error. Safe from any thread.
        """
        return self._store.query_log(start, end, alarm_id, recipient)

    def stats(self) -> dict:
        counts = self._store.counts()
        with self._counter_lock:
            counts["retries"] = self._retries
            counts["last_error"] = self._last_error
        counts["in_flight"] = len(self._in_flight)
        counts["ticks"] = self._ticks
        return counts

    def close(self) -> None:
        self._store.close()

    def _tick(self) -> None:
        self._ticks += 1
        now = self._clock()
        while self._inbox:
            transition = self._inbox.popleft()
            self._router.route(transition, now)
        self._router.escalate_due(now)
        self._router.summarise_floods(now)
        self._router.release_held(now)
        self._start_deliveries(now)

    async def _sleep(self) -> None:
        wake = self._wake
        try:
            await asyncio.wait_for(wake.wait(), TICK_S)
        except TimeoutError:
            pass
        wake.clear()

    async def _drain(self) -> None:
        deadline = time.monotonic() + self._config.drain_timeout_s
        while time.monotonic() < deadline:
            self._tick()
            if not self._in_flight:
                break
            await asyncio.wait(
                list(self._in_flight.values()),
                timeout=max(0.0, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )

        pending = list(self._in_flight.values())
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning(
                "notification service: %d deliveries cut off by the stop, they"
                " stay pending for the next start",
                len(pending),
            )

    def _start_deliveries(self, now: float) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        due = self._store.due_deliveries(now, set(self._in_flight))
        for delivery in due[:room]:
            task = asyncio.create_task(
                self._deliver(delivery), name=f"notify-{delivery.id}"
            )
            self._in_flight[delivery.id] = task
            task.add_done_callback(
                lambda _, key=delivery.id: self._in_flight.pop(key, None)
            )

    async def _deliver(self, delivery: Delivery) -> None:
        message = delivery.message
        text = Text(short=message.short, title=message.title, body=message.body)
        sender = self._senders[delivery.channel]
        error = ""
        try:
            await sender.send(delivery.address, text)
        except SendError as err:
            error = str(err) or type(err).__name__
        except Exception as err:  # a sender bug must not stop the other deliveries
            log.exception("channel %s: sender failed", delivery.channel)
            error = f"{type(err).__name__}: {err}"

        # NOTE: the result is stored after the send, so a process killed between
        # the two sends that delivery again after the restart (at least once).
        now = self._clock()
        attempts = delivery.attempts + 1
        if not error:
            self._store.finish_attempt(delivery, now, "sent", "", SENT)
            log.info(
                "alarm %s: %s sent to %s by %s",
                message.alarm_id,
                message.kind,
                message.recipient,
                delivery.channel,
            )
        elif attempts >= self._config.max_attempts:
            self._store.finish_attempt(delivery, now, "failed", error, FAILED)
            log.error(
                "alarm %s: %s to %s by %s failed after %d attempts: %s",
                message.alarm_id,
                message.kind,
                message.recipient,
                delivery.channel,
                attempts,
                error,
            )
        else:
            delay = min(
                self._config.retry_max_s,
                self._config.retry_min_s * 2 ** (attempts - 1),
            )
            self._store.finish_attempt(
                delivery, now, "retry", error, PENDING, retry_ts=now + delay
            )
            log.warning(
                "alarm %s: %s to %s by %s failed (attempt %d), retry in %g s: %s",
                message.alarm_id,
                message.kind,
                message.recipient,
                delivery.channel,
                attempts,
                delay,
                error,
            )

        if error:
            with self._counter_lock:
                self._last_error = error
                if attempts < self._config.max_attempts:
                    self._retries += 1
        if self._wake is not None:
            self._wake.set()

    def _warn_unknown_names(self, config: Config) -> None:
        devices = {device.name for device in config.devices}
        tags = set(config.tag_names())
        for roster in self._config.rosters:
            for device in roster.devices:
                if device not in devices:
                    log.warning(
                        "roster %s lists device %s, which is not configured",
                        roster.area,
                        device,
                    )
        for subscriber in self._config.subscribers:
            if subscriber.tag not in tags:
                log.warning("subscriber tag %s is not configured", subscriber.tag)
