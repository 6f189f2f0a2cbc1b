"""Typed, frozen configuration models and the loader for ``config.yaml``.

Every check runs before anything connects. A problem raises ConfigError, whose message
names the file, the key path (with the YAML line where known), the value and the fix.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vigie.errors import ConfigError

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"

RegisterKind = Literal["holding", "input", "coil", "discrete_input"]
DataType = Literal[
    "bool",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
]
ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Priority = Literal["critical", "high", "medium", "low"]
Simulator = Literal["pumping_station", "reservoir", "power_meter", "treatment_plant"]

# Registers that one value of each type occupies. "string" uses the tag's count.
REGISTER_COUNT = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "int64": 4,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
}
BIT_KINDS = ("coil", "discrete_input")
MAX_ADDRESS = 65535


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_section(cls, data):
        # A section whose keys are all commented out reads as null in YAML.
        return {} if data is None else data


class LimitAlarm(Frozen):
    """A limit or discrete-state alarm on one tag."""

    type: Literal["high_high", "high", "low", "low_low", "discrete"]
    # Limit in the tag's engineering unit. Not used by discrete alarms.
    limit: float | None = None
    # A discrete alarm is active while the tag equals this value.
    value: bool | int | None = None
    # An active limit alarm clears only once the value is this far back inside.
    deadband: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must hold before the alarm becomes active; 0 = at once.
    on_delay_s: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must be gone before the alarm clears; 0 = at once.
    off_delay_s: float = Field(default=0.0, ge=0.0)
    priority: Priority = "medium"
    enabled: bool = True
    message: str = ""

    @model_validator(mode="after")
    def _check_kind(self) -> LimitAlarm:
        if self.type == "discrete":
            if self.value is None:
                raise ValueError("a discrete alarm needs 'value' (the alarm state)")
        elif self.limit is None:
            raise ValueError(f"a {self.type} alarm needs 'limit'")
        return self


class TagBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    unit: str = ""
    description: str = ""
    alarms: tuple[LimitAlarm, ...] = ()

    @field_validator("alarms")
    @classmethod
    def _one_alarm_per_type(cls, alarms: tuple[LimitAlarm, ...]):
        seen: set[str] = set()
        for index, alarm in enumerate(alarms):
            if alarm.type in seen:
                raise ValueError(
                    f"[{index}].type: a second {alarm.type} alarm on the same tag;"
                    " each alarm type may appear once per tag"
                )
            seen.add(alarm.type)
        return alarms


class ModbusTag(TagBase):
    kind: RegisterKind = "holding"
    # Protocol (0-based PDU) address of the first register or bit.
    address: int
    type: DataType = "uint16"
    # Byte order of 32- and 64-bit values; see the worked example in config.yaml.
    byte_order: ByteOrder = "ABCD"
    # Bit inside a register, 0 = least significant; only with type bool.
    bit: int | None = Field(default=None, ge=0, le=15)
    # Register count of a string tag.
    count: int | None = Field(default=None, ge=1, le=125)
    scale: float = 1.0
    offset: float = 0.0

    @property
    def register_count(self) -> int:
        if self.kind in BIT_KINDS:
            return 1
        if self.type == "string":
            return self.count or 1
        return REGISTER_COUNT[self.type]

    @model_validator(mode="after")
    def _check_layout(self) -> ModbusTag:
        if self.kind in BIT_KINDS and self.type != "bool":
            raise ValueError(
                f"a {self.kind} is one bit, so its type must be bool, not {self.type}"
            )
        if self.bit is not None and (self.type != "bool" or self.kind in BIT_KINDS):
            raise ValueError("'bit' applies only to type bool in a holding or input register")
        if self.type == "bool" and self.kind not in BIT_KINDS and self.bit is None:
            raise ValueError("a bool in a register needs 'bit' (0-15)")
        if self.type == "string" and self.count is None:
            raise ValueError("a string tag needs 'count' (its number of registers)")
        if self.type != "string" and self.count is not None:
            raise ValueError("'count' applies only to type string")
        if not 0 <= self.address <= MAX_ADDRESS:
            raise ValueError(
                f"address: register out of range: {self.address} is not in 0 to"
                f" {MAX_ADDRESS}. Addresses are 0-based protocol addresses: a manual's"
                f" reference 40001 (or 30001) is address 0, so reference"
                f" 4xxxx is address xxxx - 1"
            )
        last = self.address + self.register_count - 1
        if last > MAX_ADDRESS:
            raise ValueError(
                f"address: register out of range: {self.address} with"
                f" {self.register_count} registers ends at {last}, past {MAX_ADDRESS}."
                " Addresses are 0-based protocol addresses: a manual's reference"
                " 40001 (or 30001) is address 0"
            )
        return self


class OpcUaTag(TagBase):
    # Node id, by namespace index (ns=2;s=...) or namespace URI (nsu=urn:...;s=...).
    node: str = Field(min_length=3)

    @field_validator("node")
    @classmethod
    def _check_node(cls, node: str) -> str:
        if not re.match(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$", node):
            raise ValueError(
                f"invalid node id {node!r}: expected ns=<index>;s=<name>,"
                " nsu=<uri>;s=<name> or i=<number>"
            )
        return node


class DeviceBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    # Seconds between polls. A poll that overruns its interval is skipped, not queued.
    poll_interval_s: float = Field(default=1.0, gt=0.0, le=86400.0)
    # Seconds to wait for one answer before the request counts as failed.
    timeout_s: float = Field(default=2.0, gt=0.0, le=600.0)
    # Reconnect delays grow from the first to the maximum, with jitter.
    reconnect_min_s: float = Field(default=0.5, gt=0.0)
    reconnect_max_s: float = Field(default=30.0, gt=0.0)
    # Priority of this device's communication-loss alarm.
    comm_alarm_priority: Priority = "high"
    # Simulator model that `vigie run` starts on this device's address, if any.
    simulate: Simulator | None = None


class ModbusDevice(DeviceBase):
    protocol: Literal["modbus_tcp"]
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    # Largest gap, in registers, that a merged read request may span.
    max_gap: int = Field(default=0, ge=0, le=124)
    tags: tuple[ModbusTag, ...] = Field(min_length=1)


class OpcUaDevice(DeviceBase):
    protocol: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://[^/:]+:\d+(/.*)?$")
    # Milliseconds between the server's publish responses.
    publishing_interval_ms: float = Field(default=500.0, gt=0.0)
    tags: tuple[OpcUaTag, ...] = Field(min_length=1)

    @property
    def host(self) -> str:
        return self.endpoint.split("//", 1)[1].split(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.split("//", 1)[1].split(":", 1)[1].split("/", 1)[0])


Device = Annotated[ModbusDevice | OpcUaDevice, Field(discriminator="protocol")]


class InfluxConfig(Frozen):
    url: str = Field(default="http://127.0.0.1:8086", pattern=r"^https?://")
    database: str = Field(default="vigie", min_length=1)
    measurement: str = Field(default="telemetry", min_length=1)
    username: str = ""
    # Name of the environment variable that holds the password; never the password.
    password_env: str = ""
    timeout_s: float = Field(default=10.0, gt=0.0)


class HistorianConfig(Frozen):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    # Samples per write; a batch is also written after flush_interval_s.
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    flush_interval_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    influxdb: InfluxConfig = InfluxConfig()


class DashboardConfig(Frozen):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    # Seconds between refreshes of the live view.
    refresh_interval_s: float = Field(default=1.0, ge=0.2, le=60.0)
    # Seconds of history in a trend.
    trend_window_s: float = Field(default=3600.0, gt=0.0)
    # Age in poll intervals after which a value is shown as stale.
    stale_after_polls: float = Field(default=3.0, gt=0.0)


class SiteConfig(Frozen):
    name: str = "Vigie"
    # IANA time zone in which the dashboard shows times.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, timezone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {timezone!r}: use an IANA name such as"
                " Africa/Casablanca or UTC"
            ) from None
        return timezone


class Config(Frozen):
    site: SiteConfig = SiteConfig()
    # Folder for the SQLite historian, the alarm journal and the spool.
    data_dir: str = "data"
    historian: HistorianConfig = HistorianConfig()
    dashboard: DashboardConfig = DashboardConfig()
    devices: tuple[Device, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_names(self) -> Config:
        devices: set[str] = set()
        tags: dict[str, str] = {}
        for index, device in enumerate(self.devices):
            if device.name in devices:
                raise ValueError(
                    f"devices[{index}].name: duplicate device name {device.name!r};"
                    " device names must be unique"
                )
            devices.add(device.name)
            for tag_index, tag in enumerate(device.tags):
                full = f"{device.name}.{tag.name}"
                if full in tags:
                    raise ValueError(
                        f"devices[{index}].tags[{tag_index}].name: duplicate tag name"
                        f" {full!r} (first defined at {tags[full]}); tag names must be"
                        " unique within a device"
                    )
                tags[full] = f"devices[{index}].tags[{tag_index}]"
            if device.simulate and not _is_loopback(device.host):
                raise ValueError(
                    f"devices[{index}].simulate: simulators bind only to loopback, but"
                    f" the device address is {device.host!r}; use 127.0.0.1 or remove"
                    " 'simulate'"
                )
        return self

    def tag_names(self) -> list[str]:
        return [f"{d.name}.{t.name}" for d in self.devices for t in d.tags]

    def data_path(self) -> Path:
        return Path(self.data_dir)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: str | os.PathLike, data_dir: str | None = None) -> Config:
    """Read and validate a config file. Raises ConfigError with file, key and reason.

    ``data_dir`` overrides the file's data_dir. A relative data_dir in the file is
    taken relative to the current folder, as a command-line path would be.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass an existing --config") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from None

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None

    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)

    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(path, err, node, raw)) from None


def _describe(path: Path, err: ValidationError, node, raw: dict) -> str:
    """Turn the first pydantic error into one line: file, key path, value, reason."""
    error = _most_specific(err.errors())
    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]

    # Cross-field checks name the key they are about at the start of their message.
    key_match = re.match(r"^([\w\[\].]+): (.*)$", message)
    if key_match:
        loc = loc + _parse_key_path(key_match.group(1))
        message = key_match.group(2)

    key = _format_key_path(loc) or "(top level)"
    line = _line_of(node, loc)
    where = f"{path}:{line}" if line else f"{path}"

    if kind == "extra_forbidden":
        reason = f"unknown key {loc[-1]!r}; check its spelling or remove it"
    elif kind == "missing":
        reason = "missing required key"
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        reason = "unknown or missing protocol; use modbus_tcp or opcua"
    else:
        value = _value_at(raw, loc)
        scalar = value is None or isinstance(value, (str, int, float, bool))
        shown = ""
        if value is not _MISSING and scalar and repr(value) not in message:
            shown = f" (got {value!r})"
        reason = f"{message}{shown}"
    return f"{where}: {key}: {reason}"


_MISSING = object()


def _most_specific(errors: list[dict]) -> dict:
    # Unknown keys and wrong types are the usual slips; report the deepest error first.
    return max(errors, key=lambda e: len(e["loc"]))


def _is_union_tag(part) -> bool:
    return part in ("modbus_tcp", "opcua")


def _parse_key_path(text: str) -> list:
    loc: list = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", text):
        loc.append(int(index) if index else name)
    return loc


def _format_key_path(loc: list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _value_at(raw, loc: list):
    current = raw
    for part in loc:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return current


def _line_of(node, loc: list) -> int | None:
    """Line number (1-based) of the deepest YAML node on the key path."""
    line = None
    current = node
    for part in loc:
        if current is None:
            break
        line = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            current = next(
                (v for k, v in current.value if getattr(k, "value", None) == part), None
            )
            if current is None:
                break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            current = current.value[part] if part < len(current.value) else None
        else:
            break
    else:
        if current is not None:
            line = current.start_mark.line + 1
    return line
