"""A scripted runtime view whose values change on every read, for dashboard tests."""

from __future__ import annotations

import threading
import time

from vigie.config import Config

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
                 "description": "Discharge pressure"},
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


class ScriptedView:
    """RuntimeView stand-in: the pressure rises by 0.01 bar on every status read.

    WTP1 is disconnected, so its tag is bad and stale. Acknowledging an alarm moves
    it from unack_active to ack_active and records the call.
    """

    def __init__(self, config: Config, clock=time.time):
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.reads = 0
        self.fail_status: Exception | None = None
        self.ack_calls: list[tuple[str, str]] = []
        self.history_calls: list[tuple[str, float, float]] = []
        self.alarm_states = {HIGH_ALARM: "unack_active", COMM_ALARM: "unack_active"}
        self.acked_by: dict[str, str] = {}

    def pressure(self) -> float:
        return round(6.60 + 0.01 * self.reads, 2)

    def status(self) -> dict:
        with self.lock:
            if self.fail_status is not None:
                raise self.fail_status
            self.reads += 1
            now = self.clock()
            return {
                "site": {"name": "Test network", "timezone": SITE_TIMEZONE},
                "time": now,
                "devices": [
                    {"name": "PS1", "protocol": "modbus_tcp", "connected": True,
                     "state": "connected", "last_success_ts": now - 0.5,
                     "last_error": "", "polls": self.reads, "errors": 0,
                     "reconnects": 0, "skipped_polls": 0, "samples": 3 * self.reads},
                    {"name": "WTP1", "protocol": "opcua", "connected": False,
                     "state": "disconnected", "last_success_ts": None,
                     "last_error": "connection refused", "polls": 0, "errors": 4,
                     "reconnects": 4, "skipped_polls": 0, "samples": 0},
                ],
                "tags": [
                    {"name": "PS1.pump1_running", "device": "PS1", "value": True,
                     "unit": "", "description": "Pump 1 running", "quality": "good",
                     "reason": "", "timestamp": now - 0.5, "age_s": 0.5,
                     "stale": False},
                    {"name": PRESSURE, "device": "PS1", "value": self.pressure(),
                     "unit": "bar", "description": "Discharge pressure",
                     "quality": "good", "reason": "", "timestamp": now - 0.5,
                     "age_s": 0.5, "stale": False},
                    {"name": "WTP1.turbidity", "device": "WTP1", "value": None,
                     "unit": "NTU", "description": "", "quality": "bad",
                     "reason": "comm_failure", "timestamp": now - 30.0,
                     "age_s": 30.0, "stale": True},
                ],
                "alarms": self._alarms(now),
                "historian": {"backend": "sqlite", "written": 10 * self.reads,
                              "backlog": 0, "errors": 0, "last_error": ""},
            }

    def _alarms(self, now: float) -> list[dict]:
        alarms = [
            {"id": COMM_ALARM, "tag": None, "type": "comm_loss", "priority": "high",
             "state": self.alarm_states[COMM_ALARM], "value": None, "limit": None,
             "message": "WTP1 not answering", "since": now - 60.0,
             "acked_by": self.acked_by.get(COMM_ALARM), "acked_ts": None},
            {"id": HIGH_ALARM, "tag": PRESSURE, "type": "high", "priority": "high",
             "state": self.alarm_states[HIGH_ALARM], "value": self.pressure(),
             "limit": 6.5, "message": "Discharge pressure high",
             "since": now - 10.0, "acked_by": self.acked_by.get(HIGH_ALARM),
             "acked_ts": None},
        ]
        return alarms

    def acknowledge(self, alarm_id: str, user: str, comment: str = "") -> dict:
        with self.lock:
            self.ack_calls.append((alarm_id, user))
            state = self.alarm_states.get(alarm_id)
            if state is None:
                return {"ok": False, "error": f"unknown alarm {alarm_id}"}
            if state != "unack_active":
                return {"ok": False, "error": f"{alarm_id} is {state}"}
            self.alarm_states[alarm_id] = "ack_active"
            self.acked_by[alarm_id] = user
            return {"ok": True, "state": "ack_active"}

    def history(self, tag: str, start: float, end: float) -> list[tuple]:
        with self.lock:
            self.history_calls.append((tag, start, end))
        points = []
        for step in range(11):
            ts = start + (end - start) * step / 10
            quality = 2 if step == 5 else 0
            value = None if quality == 2 else 4.0 + step / 10
            points.append((ts, value, quality))
        return points


