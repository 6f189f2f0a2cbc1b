"""A scripted runtime view whose values change on every read, for dashboard tests.

Alarms come from a real AlarmEngine on a journal file of the test, and the alarm
commands, aggregate history, report and notification log go through the real
RuntimeView methods; only the devices, tags, historian and notification service
are scripted.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from alarms import AlarmEngine
from vigie.config import Config
from vigie.model import ConnectionState, DeviceStatus, Quality, Sample
from vigie.runtime import RuntimeView

SITE_TIMEZONE = "Africa/Casablanca"

CONFIG = {
    "site": {"name": "Test network", "timezone": SITE_TIMEZONE},
    "dashboard": {"refresh_interval_s": 0.5, "trend_window_s": 600},
    "devices": [
        {
            "name": "PS1",
            "protocol": "modbus_tcp",
            "port": 15020,
            "tags": [
                {"name": "pump1_running", "address": 0, "type": "bool", "bit": 0,
                 "description": "Pump 1 running"},
                {"name": "discharge_pressure", "kind": "input", "address": 4,
                 "type": "int16", "scale": 0.01, "unit": "bar",
                 "description": "Discharge pressure",
                 "alarms": [{"type": "high", "limit": 6.5, "priority": "high",
                             "message": "Discharge pressure high"}]},
                {"name": "site_code", "address": 10, "type": "string", "count": 4},
            ],
        },
        {
            "name": "WTP1",
            "protocol": "opcua",
            "endpoint": "opc.tcp://127.0.0.1:14840/vigie/wtp",
            "tags": [
                {"name": "turbidity", "node": "ns=2;s=Quality/Turbidity",
                 "unit": "NTU"},
            ],
        },
    ],
}

PRESSURE = "PS1.discharge_pressure"
HIGH_ALARM = "PS1.discharge_pressure.high"
COMM_ALARM = "WTP1.comm_loss"


class _ScriptedNotifications:
    def __init__(self):
        self.submitted = []
        self.entries: list[dict] = []

    def submit(self, transitions) -> None:
        self.submitted.extend(transitions)

    def log(self, start, end, alarm_id=None, recipient=None) -> list[dict]:
        return [
            entry
            for entry in self.entries
            if start <= entry["ts"] <= end
            and alarm_id in (None, entry["alarm_id"])
            and recipient in (None, entry["recipient"])
        ]


class _ScriptedReader:
    """History with one bad sample in the middle; aggregates of 0 to 1 per bucket."""

    def __init__(self):
        self.raw_calls: list[tuple[str, float, float]] = []
        self.aggregate_calls: list[tuple] = []
        # Seconds every query takes, to stand for a slow historian.
        self.delay_s = 0.0
        self.raw_points = 11

    def query_raw(self, tag, start, end) -> list[tuple]:
        self.raw_calls.append((tag, start, end))
        time.sleep(self.delay_s)
        points = []
        count = self.raw_points
        for step in range(count):
            ts = start + (end - start) * step / (count - 1)
            quality = 2 if step == count // 2 else 0
            value = None if quality == 2 else 4.0 + step / 10
            points.append((ts, value, quality))
        return points

    def query_aggregate(self, tag, start, end, every_s, agg, tz=None) -> list[tuple]:
        self.aggregate_calls.append((tag, start, end, every_s, agg, tz))
        time.sleep(self.delay_s)
        value = {"min": 0.0, "mean": 0.5, "max": 1.0, "last": 1.0, "count": 10}[agg]
        first = start - start % every_s
        count = int((end - first) // every_s) + 1
        return [(first + i * every_s, value) for i in range(min(count, 100_000))]


class _ScriptedRuntime:
    def __init__(self, config: Config, engine: AlarmEngine):
        self.config = config
        self.alarms = engine
        self.notifications = _ScriptedNotifications()
        self.reader = _ScriptedReader()


class ScriptedView(RuntimeView):
    """RuntimeView whose pressure rises by 0.01 bar on every status read.

    The pressure is above its 6.5 bar high limit from the first read, and WTP1 is
    disconnected, so its tag is bad and stale and its comm_loss alarm is active.
    """

    def __init__(self, config: Config, journal_path: Path, clock=time.time):
        self.clock = clock
        engine = AlarmEngine(config, journal_path, clock=lambda: self.clock())
        super().__init__(_ScriptedRuntime(config, engine))
        self.engine = engine
        self.notifications = self._runtime.notifications
        self.reader = self._runtime.reader
        self.lock = threading.Lock()
        self.reads = 0
        self.fail_status: Exception | None = None
        self.ack_calls: list[tuple[str, str]] = []
        self.historian = {
            "backend": "sqlite", "backlog": 0, "spooled": 0, "quarantined": 0,
            "dropped": 0, "overflow": False, "unreachable": False, "errors": 0,
            "last_error": "",
        }
        wtp1 = DeviceStatus("WTP1", "opcua")
        wtp1.last_error = "connection refused"
        wtp1.state = ConnectionState.DISCONNECTED
        now = self.clock()
        engine.on_device_state(wtp1, now)
        # Raised with the value of the first status read.
        engine.process([Sample(PRESSURE, now - 0.5, 6.61, Quality.GOOD)])

    @property
    def history_calls(self) -> list[tuple[str, float, float]]:
        return self.reader.raw_calls

    def pressure(self) -> float:
        return round(6.60 + 0.01 * self.reads, 2)

    def status(self, include_hidden: bool = False) -> dict:
        with self.lock:
            if self.fail_status is not None:
                raise self.fail_status
            self.reads += 1
            now = self.clock()
            pressure = self.pressure()
        self.engine.process([Sample(PRESSURE, now - 0.5, pressure, Quality.GOOD)])
        return {
            "site": {"name": "Test network", "timezone": SITE_TIMEZONE},
            "time": now,
            "devices": [
                {"name": "PS1", "protocol": "modbus_tcp", "connected": True,
                 "state": "connected", "last_success_ts": now - 0.5,
                 "last_error": "", "polls": self.reads, "errors": 0,
                 "reconnects": 0, "skipped_polls": 0, "samples": 3 * self.reads,
                 "diagnostics": {}},
                {"name": "WTP1", "protocol": "opcua", "connected": False,
                 "state": "disconnected", "last_success_ts": None,
                 "last_error": "connection refused", "polls": 0, "errors": 4,
                 "reconnects": 4, "skipped_polls": 0, "samples": 0,
                 "diagnostics": {"clock_skew": 2}},
            ],
            "tags": [
                {"name": "PS1.pump1_running", "device": "PS1", "value": True,
                 "unit": "", "description": "Pump 1 running", "quality": "good",
                 "reason": "", "timestamp": now - 0.5, "age_s": 0.5,
                 "stale": False},
                {"name": PRESSURE, "device": "PS1", "value": pressure,
                 "unit": "bar", "description": "Discharge pressure",
                 "quality": "good", "reason": "", "timestamp": now - 0.5,
                 "age_s": 0.5, "stale": False},
                {"name": "WTP1.turbidity", "device": "WTP1", "value": None,
                 "unit": "NTU", "description": "", "quality": "bad",
                 "reason": "comm_failure", "timestamp": now - 30.0,
                 "age_s": 30.0, "stale": True},
            ],
            "alarms": self.engine.active(include_hidden),
            "historian": {**self.historian, "written": 10 * self.reads},
        }

    def acknowledge(self, alarm_id: str, user: str, comment: str = "") -> dict:
        with self.lock:
            self.ack_calls.append((alarm_id, user))
        return super().acknowledge(alarm_id, user, comment)

    def close(self) -> None:
        self.engine.close()
