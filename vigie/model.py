"""Samples, quality and device status: the values that travel between components."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

Value = float | int | bool | str | None


class Quality(enum.IntEnum):
    """OPC UA style quality of one sample. Higher is worse, so max() combines."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


class Reason(enum.StrEnum):
    """Reason a sample is not good, kept with the sample and shown to the operator."""

    NONE = ""
    COMM_FAILURE = "comm_failure"
    CONFIG_ERROR = "config_error"
    DEVICE_ERROR = "device_error"
    ILLEGAL_ADDRESS = "illegal_address"
    DEVICE_NAN = "device_nan"
    DEVICE_INF = "device_inf"
    BAD_FRAME = "bad_frame"
    SENSOR_FAILURE = "sensor_failure"
    OUT_OF_RANGE = "out_of_range"
    STALE = "stale"
    SERVER_STATUS = "server_status"


@dataclass(slots=True)
class Sample:
    """One value of one tag.

    ``ts`` is the source time in seconds since the Unix epoch, UTC. ``value`` is None
    when the quality is bad and no value could be decoded. One sample object goes to
    every consumer, so no consumer may change it.
    """

    # NOTE: not frozen, because a frozen dataclass takes about five times longer to
    # create and a Sample is made for every value of every poll.

    tag: str
    ts: float
    value: Value
    quality: Quality = Quality.GOOD
    reason: str = ""


# A batch is the unit that travels through the bus: one Modbus request or one OPC UA
# publish, never one queue operation per value. It contains the samples of one device,
# so consumers count it per device from its first sample.
Batch = list[Sample]


class ConnectionState(enum.StrEnum):
    """State of one device connection, set only through DeviceStatus.set_state()."""

    STARTING = "starting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


@dataclass(slots=True)
class DeviceStatus:
    """Live diagnostics of one device, owned by its collector and read by the API."""

    name: str
    protocol: str
    state: ConnectionState = ConnectionState.STARTING
    last_success_ts: float | None = None
    last_error: str = ""
    polls: int = 0
    errors: int = 0
    reconnects: int = 0
    skipped_polls: int = 0
    samples: int = 0
    # Protocol-specific counters and flags, such as OPC UA clock skew.
    diagnostics: dict = field(default_factory=dict)
    listeners: list = field(default_factory=list, repr=False)

    @property
    def connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED

    def set_state(self, state: ConnectionState, now: float, error: str = "") -> bool:
        """Change the state and notify listeners; False for a same-state write."""
        if error:
            self.last_error = error
        if state is self.state:
            return False
        self.state = state
        for listener in self.listeners:
            listener(self, now)
        return True

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "state": self.state.value,
            "connected": self.connected,
            "last_success_ts": self.last_success_ts,
            "last_error": self.last_error,
            "polls": self.polls,
            "errors": self.errors,
            "reconnects": self.reconnects,
            "skipped_polls": self.skipped_polls,
            "samples": self.samples,
            "diagnostics": dict(self.diagnostics),
        }
