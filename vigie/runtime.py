"""The runtime: collectors, historian writer, alarm engine and dashboard in one process.

The asyncio loop in the main thread runs the collectors and the historian's flush
loop. The dashboard runs in a WSGI server thread and reaches the runtime only through
RuntimeView, whose methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from vigie.bus import Bus
from vigie.config import Config
from vigie.errors import VigieError
from vigie.live import LiveStore
from vigie.model import DeviceStatus

log = logging.getLogger(__name__)

# Bounded waits of the shutdown phases, in seconds.
COLLECTOR_STOP_TIMEOUT_S = 10.0
HISTORIAN_STOP_TIMEOUT_S = 30.0
NOTIFIER_STOP_TIMEOUT_S = 30.0

# Seconds between alarm engine ticks: shelve expiry, stale data, elapsed delays and
# scheduled rules over history.
ALARM_TICK_S = 1.0

# Seconds the spool-overflow alarm stays active after the last dropped sample.
OVERFLOW_HOLD_S = 60.0


# Allocations between young-generation collections; Python's default is 700.
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Set the garbage collector for a process that polls thousands of tags.

    Every poll makes one Sample per tag, and they live until the historian's next
    flush, so with Python's defaults collections took about a fifth of the CPU. A
    higher young-generation threshold makes them rarer, and freezing what exists
    after start (config, request plans, decoders) keeps full collections from
    walking it again and again.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    gc.freeze()


class StartError(VigieError):
    """A component could not start: a port in use, a folder that cannot be written."""


@dataclass
class Summary:
    """Counters of one run, printed when it stops."""

    duration_s: float
    # Samples published per device, bad-quality ones included, and samples stored.
    collected: dict[str, int]
    stored: dict[str, int]
    backlog: int
    spooled: int
    dropped: int
    alarms_raised: int
    historian_backend: str
    errors: list[str] = field(default_factory=list)

    @property
    def unsaved(self) -> int:
        """Samples neither written nor kept in the durable spool."""
        return max(0, self.backlog - self.spooled)

    @property
    def lost_samples(self) -> bool:
        return self.unsaved > 0 or self.dropped > 0

    def format(self) -> str:
        lines = [f"Vigie ran for {self.duration_s:.1f} s."]
        lines.append(f"{'device':<16}{'collected':>12}{'stored':>12}")
        for device, collected in self.collected.items():
            stored = self.stored.get(device, 0)
            lines.append(f"{device:<16}{collected:>12}{stored:>12}")
        lines.append(
            f"historian: {self.historian_backend}, {self.unsaved} samples lost,"
            f" {self.spooled} kept in the spool for the next start,"
            f" {self.dropped} dropped by the spool limit"
        )
        lines.append(f"alarms raised: {self.alarms_raised}")
        lines.extend(f"error: {error}" for error in self.errors)
        return "\n".join(lines)


class RuntimeView:
    """Thread-safe read and command surface used by the dashboard and the HTTP API."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.config = runtime.config

    def status(self, include_hidden: bool = False) -> dict:
        """Return the /api/status document; ``include_hidden`` adds shelved,
        suppressed and out-of-service alarms."""
        runtime = self._runtime
        now = time.time()
        devices = [status.as_dict() for status in runtime.statuses.values()]
        connected = {status["name"]: status["connected"] for status in devices}
        alarms = runtime.alarms.active(include_hidden)
        return {
            "site": {
                "name": self.config.site.name,
                "timezone": self.config.site.timezone,
            },
            "time": now,
            "devices": devices,
            "tags": runtime.live.snapshot(now, connected),
            "alarms": alarms,
            "historian": runtime.writer.stats(),
        }

    def acknowledge(self, alarm_id: str, user: str, comment: str = "") -> dict:
        """Acknowledge an alarm; this also stops its notification escalation."""
        result = self._command(
            alarm_id, lambda engine: engine.acknowledge(alarm_id, user, comment)
        )
        if result is None:
            return {
                "ok": False,
                "error": f"alarm {alarm_id!r} needs no acknowledgement",
            }
        return result

    def shelve(self, alarm_id: str, user: str, duration_s: float, reason: str) -> dict:
        return self._command(
            alarm_id, lambda engine: engine.shelve(alarm_id, user, duration_s, reason)
        ) or {"ok": False, "error": f"alarm {alarm_id!r} was not shelved"}

    def unshelve(self, alarm_id: str, user: str) -> dict:
        return self._command(
            alarm_id, lambda engine: engine.unshelve(alarm_id, user)
        ) or {"ok": False, "error": f"alarm {alarm_id!r} is not shelved"}

    def set_out_of_service(
        self, alarm_id: str, user: str, reason: str, on: bool
    ) -> dict:
        return self._command(
            alarm_id,
            lambda engine: engine.set_out_of_service(alarm_id, user, reason, on),
        ) or {"ok": False, "error": f"alarm {alarm_id!r} is already in that state"}

    def history(self, tag: str, start: float, end: float) -> list[tuple]:
        return self._runtime.reader.query_raw(tag, start, end)

    def history_aggregate(
        self, tag: str, start: float, end: float, every_s: float, agg: str
    ) -> list[tuple]:
        """Return (bucket start, value) pairs; rollups serve long ranges."""
        return self._runtime.reader.query_aggregate(
            tag, start, end, every_s, agg, tz=self.config.site.timezone
        )

    def alarm_report(self, start: float, end: float, area: str | None = None) -> dict:
        return self._runtime.alarms.report(start, end, area)

    def notification_log(
        self,
        start: float,
        end: float,
        alarm_id: str | None = None,
        recipient: str | None = None,
    ) -> list[dict]:
        return self._runtime.notifications.log(start, end, alarm_id, recipient)

    def _command(self, alarm_id: str, action) -> dict | None:
        """Run an operator action on the engine and notify its transition.

        Returns None when the action changed nothing, and an error document for an
        unknown alarm or a refused action.
        """
        runtime = self._runtime
        try:
            transition = action(runtime.alarms)
        except KeyError:
            return {"ok": False, "error": f"unknown alarm {alarm_id!r}"}
        except ValueError as err:
            return {"ok": False, "error": str(err)}
        if transition is None:
            return None
        runtime.notifications.submit([transition])
        return {"ok": True, "state": transition.to_state}


class Runtime:
    """Builds every component from the config and runs them until ``stop`` is set."""

    def __init__(self, config: Config, *, dashboard: bool = True) -> None:
        from alarms import AlarmEngine
        from alarms.notify import NotificationService
        from historian import make_reader, make_writer

        self.config = config
        self.with_dashboard = dashboard and config.dashboard.enabled
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)

        self.bus = Bus()
        self.live = LiveStore(config)
        try:
            self.writer = make_writer(config)
            self.reader = make_reader(config)
            # The engine locks itself, so the dashboard thread may acknowledge while
            # the loop processes batches.
            self.alarms = AlarmEngine(config, data_dir / "alarms.sqlite")
            self.notifications = NotificationService(config, data_dir)
        except (sqlite3.Error, OSError) as err:
            raise StartError(
                f"cannot open the files in {data_dir}: {err}; move a damaged file"
                " aside or pass another --data-dir"
            ) from None
        self.statuses = {
            device.name: DeviceStatus(device.name, device.protocol)
            for device in config.devices
        }
        for status in self.statuses.values():
            status.listeners.append(self._on_device_state)

        self.bus.subscribe("live", self.live.update)
        self.bus.subscribe("historian", self.writer.submit)
        self.bus.subscribe("alarms", self._on_samples)
        self.view = RuntimeView(self)
        self._server = None
        # The spool's drop count survives restarts; only new drops raise the alarm.
        self._dropped_seen = self.writer.stats().get("dropped", 0)
        self._last_drop_ts = float("-inf")

    def _on_samples(self, batch) -> None:
        self.notifications.submit(self.alarms.process(batch))

    def _on_device_state(self, status: DeviceStatus, now: float) -> None:
        self.notifications.submit(self.alarms.on_device_state(status, now))

    async def _tick_alarms(self, stop: asyncio.Event) -> None:
        """Tick the alarm engine every ALARM_TICK_S until ``stop`` is set.

        Scheduled rules query the historian, over HTTP for InfluxDB, so the tick runs
        in a worker thread.
        """
        while not stop.is_set():
            try:
                transitions = await asyncio.to_thread(self.alarms.tick, time.time())
                transitions += self._check_historian(time.time())
            except Exception:
                log.exception("Alarm engine tick failed; trying again next tick")
            else:
                self.notifications.submit(transitions)
            try:
                await asyncio.wait_for(stop.wait(), timeout=ALARM_TICK_S)
            except TimeoutError:
                pass

    def _check_historian(self, now: float) -> list:
        """Raise or clear the system alarms of an unreachable historian and of
        samples dropped by the spool limit."""
        stats = self.writer.stats()
        transitions = self.alarms.set_system_condition(
            "historian.unreachable",
            bool(stats.get("unreachable")),
            now,
            stats.get("last_error", "") or "historian reachable again",
        )
        dropped = stats.get("dropped", 0)
        if dropped > self._dropped_seen:
            self._last_drop_ts = now
        self._dropped_seen = dropped
        # Active while samples are being dropped, and for a minute after the last
        # drop, so that an operator sees it even when the outage was short.
        dropping = now - self._last_drop_ts < OVERFLOW_HOLD_S
        transitions += self.alarms.set_system_condition(
            "historian.spool_overflow",
            dropping,
            now,
            f"store-and-forward overflow: {dropped} samples dropped",
        )
        return transitions

    async def run(self, stop: asyncio.Event) -> Summary:
        from collectors import make_collector

        started = time.monotonic()
        errors: list[str] = []

        # The dashboard binds its port first, so that a port in use fails the start
        # before any device is polled.
        if self.with_dashboard:
            self._start_dashboard()

        await self.writer.start()
        historian_stop = asyncio.Event()
        historian_task = asyncio.create_task(
            self.writer.run(historian_stop), name="historian-writer"
        )

        collector_stop = asyncio.Event()
        collector_tasks = []
        for device in self.config.devices:
            collector = make_collector(
                device, self.bus.publish, self.statuses[device.name]
            )
            task = asyncio.create_task(
                collector.run(collector_stop), name=f"collector-{device.name}"
            )
            collector_tasks.append(task)
        log.info("Started %d collectors", len(collector_tasks))

        tune_garbage_collector()

        alarm_stop = asyncio.Event()
        tick_task = asyncio.create_task(
            self._tick_alarms(alarm_stop), name="alarm-tick"
        )
        notify_task = asyncio.create_task(
            self.notifications.run(alarm_stop), name="notifications"
        )

        await stop.wait()
        log.info("Stopping: collectors first, then the historian flush")

        # Phase 1: collectors stop so no new samples arrive.
        collector_stop.set()
        done, pending = await asyncio.wait(
            collector_tasks, timeout=COLLECTOR_STOP_TIMEOUT_S
        )
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "Cancelled %d collectors that did not stop in time", len(pending)
            )
            await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                error = f"{task.get_name()} failed: {task.exception()!r}"
                log.error("%s", error)
                errors.append(error)

        # Phase 2: the last transitions go out, then the historian writes everything
        # it still holds.
        alarm_stop.set()
        await tick_task
        try:
            await asyncio.wait_for(notify_task, timeout=NOTIFIER_STOP_TIMEOUT_S)
        except TimeoutError:
            error = "notification service did not stop in time"
            log.error("%s; pending messages go out after the next start", error)
            errors.append(error)

        historian_stop.set()
        try:
            await asyncio.wait_for(historian_task, timeout=HISTORIAN_STOP_TIMEOUT_S)
        except TimeoutError:
            error = "historian did not finish its last flush in time"
            log.error(
                "%s; %d samples not written", error, self.writer.stats()["backlog"]
            )
            errors.append(error)

        # Phase 3: release the rest.
        self._stop_dashboard()
        stats = self.writer.stats()
        raised = self.alarms.stats()["raised"]
        self.alarms.close()
        self.notifications.close()
        self.reader.close()

        return Summary(
            duration_s=time.monotonic() - started,
            collected={
                name: self.bus.published_by_device.get(name, 0)
                for name in self.statuses
            },
            stored=dict(stats.get("written_by_device", {})),
            backlog=stats.get("backlog", 0),
            spooled=stats.get("spooled", 0),
            dropped=stats.get("dropped", 0),
            alarms_raised=raised,
            historian_backend=stats.get("backend", self.config.historian.backend),
            errors=errors,
        )

    def _start_dashboard(self) -> None:
        from dashboard import create_app, serve

        app = create_app(self.view)
        host, port = self.config.dashboard.host, self.config.dashboard.port
        try:
            self._server = serve(app, host, port)
        except OSError as err:
            raise StartError(
                f"dashboard cannot listen on {host}:{port}: {err.strerror}; stop the"
                " process that uses the port or set dashboard.port in the config"
            ) from None
        log.info("Dashboard listening on http://%s:%d", host, port)

    def _stop_dashboard(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
            log.info("Dashboard stopped")
