"""Declared OPC UA tag types and discrete alarms against a hostile server, both
historians, the alarm journal and careless configurations.

The server is a real asyncua server on loopback that lets a variable change its
variant type at run time, as a gateway that re-maps its data source does.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from asyncua import ua
from opcua_server import (
    NAMESPACE_URI,
    PlantServer,
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)

from alarms import AlarmEngine
from collectors.opcua.collector import OpcUaCollector
from collectors.opcua.values import to_sample
from historian import make_reader, make_writer
from vigie.config import Config
from vigie.model import Quality, Sample

REPO = Path(__file__).resolve().parents[2]
NSU = f"nsu={NAMESPACE_URI};s="
MODES = ["subscription", "polling"]
GOOD = Quality.GOOD
UNCERTAIN = Quality.UNCERTAIN
BAD = Quality.BAD
T0 = 1_733_320_000.0
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1
VariantType = ua.VariantType


def mismatch(sent: str, declared: str) -> str:
    return (
        f"config_error:type mismatch: the node sends {sent}, the tag declares"
        f" {declared}"
    )


class HostileServer(PlantServer):
    """A plant server whose variables take a value of any variant type.

    asyncua 2.1 rejects a write whose variant type differs from the variable's
    current one. This server skips that check, so that a test can send a String,
    a Null or an array to a variable that started as a Double.
    """

    def __init__(self, variables: dict[str, tuple[VariantType, object]]) -> None:
        super().__init__()
        self.extra_variables = variables

    async def add_variables(self) -> None:
        await super().add_variables()
        await self._add(self.extra_variables)

    async def start(self, with_variables: bool = True) -> None:
        await super().start(with_variables)
        self._server.iserver.aspace._is_expected_variant_type = lambda *args: True

    async def send(
        self,
        name: str,
        variant: ua.Variant,
        status: int = ua.StatusCodes.Good,
        source_ts: datetime | None = None,
    ) -> None:
        data_value = ua.DataValue(
            Value=variant,
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=source_ts or datetime.now(timezone.utc),
        )
        await self._server.write_attribute_value(self.nodes[name].nodeid, data_value)


def state(sample: Sample | None) -> tuple | None:
    if sample is None:
        return None
    return (sample.value, sample.quality, str(sample.reason))


def typed_tag(name: str, declared: str) -> dict:
    tag_name = name.replace("/", "_").lower()
    return {"name": tag_name, "node": NSU + name, "type": declared}


async def collect_cases(mode: str, cases: dict) -> dict:
    """Serve each case's variable, send its hostile value and return the latest
    sample of every tag once each has a sample of the hostile value.

    ``cases`` maps a variable name to (declared type, variant, status, expected).
    """
    variables = {name: (VariantType.Double, 0.0) for name in cases}
    server = HostileServer(variables)
    await server.start()
    recorder = Recorder()
    tags = [typed_tag(name, case[0]) for name, case in cases.items()]
    device = make_device(server.endpoint, tags, mode=mode, poll_interval_s=0.2)
    full = {name: f"WTP1.{typed_tag(name, 'float')['name']}" for name in cases}

    def latest() -> dict:
        return {name: recorder.latest(full[name]) for name in cases}

    # Every hostile value carries this source time, which identifies its sample.
    sent = datetime.now(timezone.utc) + timedelta(seconds=1)

    def arrived() -> bool:
        return all(
            abs(sample.ts - sent.timestamp()) < 1e-3 for sample in latest().values()
        )

    try:
        async with RunningCollector(OpcUaCollector(device, recorder, new_status())):
            assert await wait_until(lambda: all(latest().values()), 10.0)
            for name, (_declared, variant, status, _expected) in cases.items():
                await server.send(name, variant, status, sent)
            assert await wait_until(arrived, 10.0)
    finally:
        await server.stop()
    return latest()


def projected(samples: dict, project=state) -> dict:
    return {name: project(sample) for name, sample in samples.items()}


HANDLED_CASES = {
    "Hostile/Array": (
        "float",
        ua.Variant([1.0, 2.0], VariantType.Double),
        ua.StatusCodes.Good,
        (None, BAD, "config_error:unsupported value type list"),
    ),
    "Hostile/Text": (
        "string",
        ua.Variant(ua.LocalizedText("open", "en"), VariantType.LocalizedText),
        ua.StatusCodes.Good,
        ("open", GOOD, ""),
    ),
    "Hostile/Time": (
        "float",
        ua.Variant(datetime(2024, 1, 1, tzinfo=timezone.utc), VariantType.DateTime),
        ua.StatusCodes.Good,
        (1704067200.0, GOOD, ""),
    ),
    "Hostile/Bytes": (
        "string",
        ua.Variant(b"\x00\xff", VariantType.ByteString),
        ua.StatusCodes.Good,
        (None, BAD, "config_error:unsupported value type bytes"),
    ),
    "Hostile/Int64Max": (
        "int",
        ua.Variant(INT64_MAX, VariantType.Int64),
        ua.StatusCodes.Good,
        (INT64_MAX, GOOD, ""),
    ),
    "Hostile/Int64Min": (
        "int",
        ua.Variant(INT64_MIN, VariantType.Int64),
        ua.StatusCodes.Good,
        (INT64_MIN, GOOD, ""),
    ),
    "Hostile/AlmostThree": (
        "int",
        ua.Variant(3.0000000001, VariantType.Double),
        ua.StatusCodes.Good,
        (None, BAD, mismatch("float", "int")),
    ),
    "Hostile/UncertainText": (
        "float",
        ua.Variant("7", VariantType.String),
        ua.StatusCodes.UncertainLastUsableValue,
        (None, BAD, mismatch("str", "float")),
    ),
    "Hostile/UncertainBool": (
        "bool",
        ua.Variant(True, VariantType.Boolean),
        ua.StatusCodes.UncertainLastUsableValue,
        (True, UNCERTAIN, "server_status:UncertainLastUsableValue"),
    ),
    "Hostile/BadText": (
        "float",
        ua.Variant("7", VariantType.String),
        ua.StatusCodes.BadSensorFailure,
        (None, BAD, "server_status:BadSensorFailure"),
    ),
}


@pytest.mark.parametrize("mode", MODES)
async def test_hostile_variants_handled(mode):
    samples = await collect_cases(mode, HANDLED_CASES)

    assert projected(samples) == {
        name: case[3] for name, case in HANDLED_CASES.items()
    }
    int_types = {
        name: type(samples[name].value)
        for name in ("Hostile/Int64Max", "Hostile/Int64Min")
    }
    assert int_types == {"Hostile/Int64Max": int, "Hostile/Int64Min": int}


NOT_STORABLE_CASES = {
    "Hostile/NaN": (
        "float",
        ua.Variant(math.nan, VariantType.Double),
        ua.StatusCodes.Good,
        (None, BAD, "device_nan"),
    ),
    "Hostile/Infinity": (
        "float",
        ua.Variant(-math.inf, VariantType.Double),
        ua.StatusCodes.Good,
        (None, BAD, "device_inf"),
    ),
    "Hostile/UInt64Max": (
        "int",
        ua.Variant(UINT64_MAX, VariantType.UInt64),
        ua.StatusCodes.Good,
        (None, BAD, "out_of_range"),
    ),
    "Hostile/WholeDouble": (
        "int",
        ua.Variant(1e20, VariantType.Double),
        ua.StatusCodes.Good,
        (None, BAD, "out_of_range"),
    ),
}


@pytest.mark.parametrize("mode", MODES)
async def test_unstorable_numbers_are_bad(mode):
    """NaN and infinity on a float tag are BAD, as the Modbus decoder makes them.

    A whole number outside the 64-bit signed range on an int tag is BAD too,
    because neither InfluxDB nor the alarm journal can store it."""
    samples = await collect_cases(mode, NOT_STORABLE_CASES)

    assert projected(samples) == {
        name: case[3] for name, case in NOT_STORABLE_CASES.items()
    }


def value_and_quality(sample: Sample | None) -> tuple | None:
    return None if sample is None else (sample.value, sample.quality)


NULL_CASES = {
    "Hostile/NullFloat": (
        "float",
        ua.Variant(),
        ua.StatusCodes.Good,
        (None, BAD),
    ),
    "Hostile/NullText": (
        "string",
        ua.Variant(),
        ua.StatusCodes.Good,
        (None, BAD),
    ),
    "Hostile/EmptyLocalizedText": (
        "string",
        ua.Variant(ua.LocalizedText(None), VariantType.LocalizedText),
        ua.StatusCodes.Good,
        (None, BAD),
    ),
}


@pytest.mark.parametrize("mode", MODES)
async def test_null_value_on_typed_tag_is_bad(mode):
    """A Good status with no value is no value of the declared type, and a GOOD
    sample always carries a value."""
    samples = await collect_cases(mode, NULL_CASES)

    assert projected(samples, value_and_quality) == {
        name: case[3] for name, case in NULL_CASES.items()
    }


async def send_steps(server, recorder, tag, node, steps) -> list[tuple]:
    """Send each variant, wait until the tag shows its expected state, and return
    the distinct states in arrival order."""
    for variant, expected in steps:
        await server.send(node, variant)
        await wait_until(lambda: state(recorder.latest(tag)) == expected, 10.0)
    states = []
    for sample in recorder.samples(tag):
        if not states or states[-1] != state(sample):
            states.append(state(sample))
    return states


@pytest.mark.parametrize("mode", MODES)
async def test_variant_type_changes_at_run_time(mode, caplog):
    caplog.set_level(logging.INFO, logger="collectors.opcua.collector")
    server = HostileServer({"Hostile/Changing": (VariantType.Double, 1.5)})
    await server.start()
    recorder = Recorder()
    tags = [typed_tag("Hostile/Changing", "float")]
    device = make_device(server.endpoint, tags, mode=mode, poll_interval_s=0.2)
    tag = "WTP1.hostile_changing"
    steps = [
        (ua.Variant("2.5", VariantType.String), (None, BAD, mismatch("str", "float"))),
        (ua.Variant(True, VariantType.Boolean), (None, BAD, mismatch("bool", "float"))),
        (ua.Variant(2.5, VariantType.Double), (2.5, GOOD, "")),
    ]
    try:
        async with RunningCollector(OpcUaCollector(device, recorder, new_status())):
            assert await wait_until(lambda: recorder.latest(tag), 10.0)
            states = await send_steps(server, recorder, tag, "Hostile/Changing", steps)
    finally:
        await server.stop()

    assert states == [(1.5, GOOD, "")] + [expected for _, expected in steps]
    logged = [r.levelname for r in caplog.records if tag in r.getMessage()]
    assert logged == ["WARNING", "WARNING", "INFO"]


@pytest.mark.parametrize("mode", MODES)
async def test_null_between_types_is_bad(mode):
    """Double, then Null, then Boolean on a float tag: the Null step is BAD."""
    server = HostileServer({"Hostile/Changing": (VariantType.Double, 1.5)})
    await server.start()
    recorder = Recorder()
    tags = [typed_tag("Hostile/Changing", "float")]
    device = make_device(server.endpoint, tags, mode=mode, poll_interval_s=0.2)
    tag = "WTP1.hostile_changing"
    null_sample = None
    try:
        async with RunningCollector(OpcUaCollector(device, recorder, new_status())):
            assert await wait_until(lambda: recorder.latest(tag), 10.0)
            await server.send("Hostile/Changing", ua.Variant())
            await wait_until(lambda: recorder.latest(tag).value != 1.5, 10.0)
            null_sample = recorder.latest(tag)
            await server.send("Hostile/Changing", ua.Variant(True, VariantType.Boolean))
            await wait_until(
                lambda: state(recorder.latest(tag))
                == (None, BAD, mismatch("bool", "float")),
                10.0,
            )
    finally:
        await server.stop()

    assert null_sample.value is None
    assert null_sample.quality is BAD


def test_bad_status_with_wrong_type_keeps_status():
    """A Bad status beats a wrong type, and an Uncertain one does not hide it.

    The asyncua server nulls the value of a Bad write, so this combination is
    built as the data value a third-party server sends."""
    bad = ua.DataValue(
        Value=ua.Variant("7", VariantType.String),
        StatusCode=ua.StatusCode(ua.StatusCodes.BadCommunicationError),
    )
    uncertain = ua.DataValue(
        Value=ua.Variant([1, 2], VariantType.Int32),
        StatusCode=ua.StatusCode(ua.StatusCodes.UncertainSensorNotAccurate),
    )

    bad_sample = to_sample("WTP1.t", bad, T0, declared="int")
    uncertain_sample = to_sample("WTP1.t", uncertain, T0, declared="int")

    assert state(bad_sample) == (None, BAD, "server_status:BadCommunicationError")
    assert state(uncertain_sample) == (
        None,
        BAD,
        "config_error:unsupported value type list",
    )


# Historian read-back of typed tags.

TYPED_TAGS = [
    {"name": "running", "node": NSU + "Pumps/Pump1/Running", "type": "bool"},
    {"name": "starts", "node": NSU + "Pumps/Pump1/Starts", "type": "int"},
    {"name": "mode", "node": NSU + "Plant/Mode", "type": "string"},
    {"name": "flow", "node": NSU + "Outlet/Flow", "type": "float"},
]
DECLARED = {f"WTP1.{tag['name']}": tag["type"] for tag in TYPED_TAGS}
MODE_TEXT = 'valve "A", open=1\nline 2 \\'


def typed_config(data_dir: Path, historian: dict | None = None) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "historian": historian or {},
            "devices": [
                {
                    "name": "WTP1",
                    "protocol": "opcua",
                    "endpoint": "opc.tcp://127.0.0.1:14840",
                    "tags": TYPED_TAGS,
                }
            ],
        }
    )


def node_sample(tag: str, value, variant_type: VariantType, ts: float) -> Sample:
    """Convert a data value as the collector does for the tag's declared type."""
    data_value = ua.DataValue(
        Value=ua.Variant(value, variant_type),
        SourceTimestamp=datetime.fromtimestamp(ts, timezone.utc),
    )
    return to_sample(tag, data_value, ts, declared=DECLARED[tag])


async def store_and_read(config: Config, samples: list[Sample], tags) -> dict:
    writer = make_writer(config)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    writer.submit(samples)
    stop.set()
    await asyncio.wait_for(task, 30.0)
    await writer.close()

    reader = make_reader(config)
    try:
        return {
            tag: await asyncio.to_thread(reader.query_raw, tag, T0 - 1, T0 + 100)
            for tag in tags
        }
    finally:
        reader.close()


TYPED_SAMPLES = [
    ("WTP1.running", True, VariantType.Boolean, T0),
    ("WTP1.running", False, VariantType.Boolean, T0 + 1),
    ("WTP1.starts", 2**31 + 7, VariantType.Int64, T0),
    ("WTP1.starts", 2**53, VariantType.UInt64, T0 + 1),
    ("WTP1.starts", -(2**40) - 3, VariantType.Int64, T0 + 2),
    ("WTP1.mode", MODE_TEXT, VariantType.String, T0),
    ("WTP1.mode", "", VariantType.String, T0 + 1),
    ("WTP1.flow", 7, VariantType.Int32, T0),
    ("WTP1.flow", 2.5, VariantType.Double, T0 + 1),
]
TYPED_EXPECTED = {
    "WTP1.running": [(T0, True, 0), (T0 + 1, False, 0)],
    "WTP1.starts": [(T0, 2**31 + 7, 0), (T0 + 1, 2**53, 0), (T0 + 2, -(2**40) - 3, 0)],
    "WTP1.mode": [(T0, MODE_TEXT, 0), (T0 + 1, "", 0)],
    "WTP1.flow": [(T0, 7.0, 0), (T0 + 1, 2.5, 0)],
}
EXPECTED_TYPES = {
    "WTP1.running": [bool, bool],
    "WTP1.starts": [int, int, int],
    "WTP1.mode": [str, str],
    "WTP1.flow": [float, float],
}


def historian_settings(backend: str, request) -> dict:
    if backend == "sqlite":
        return {"backend": "sqlite"}
    url = request.getfixturevalue("influxdb_url")
    database = request.getfixturevalue("influxdb_database")
    return {
        "backend": "influxdb",
        "flush_interval_s": 0.1,
        "influxdb": {"url": url, "database": database},
    }


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("influxdb", id="influxdb", marks=pytest.mark.influxdb),
]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_typed_tags_read_back(backend, tmp_path, request):
    config = typed_config(tmp_path, historian_settings(backend, request))
    samples = [node_sample(*row) for row in TYPED_SAMPLES]

    rows = await store_and_read(config, samples, TYPED_EXPECTED)

    assert rows == TYPED_EXPECTED
    types = {tag: [type(row[1]) for row in found] for tag, found in rows.items()}
    assert types == EXPECTED_TYPES


# NOTE: SQLite keeps numbers as REAL, so it loses the lowest digits of integers
# beyond 2**53 (see historian/kinds.py). The strict mark fails once that is fixed.
INT64_BACKENDS = [
    pytest.param(
        "sqlite",
        id="sqlite",
        marks=pytest.mark.xfail(
            strict=True, reason="SQLite stores integers beyond 2**53 as REAL"
        ),
    ),
    pytest.param("influxdb", id="influxdb", marks=pytest.mark.influxdb),
]


@pytest.mark.parametrize("backend", INT64_BACKENDS)
async def test_int64_extremes_read_back_exactly(backend, tmp_path, request):
    """An int tag stores every 64-bit signed value exactly."""
    config = typed_config(tmp_path, historian_settings(backend, request))
    samples = [
        node_sample("WTP1.starts", INT64_MAX, VariantType.Int64, T0),
        node_sample("WTP1.starts", 2**53 + 1, VariantType.Int64, T0 + 1),
        node_sample("WTP1.starts", INT64_MIN, VariantType.Int64, T0 + 2),
    ]

    rows = await store_and_read(config, samples, ["WTP1.starts"])

    assert rows["WTP1.starts"] == [
        (T0, INT64_MAX, 0),
        (T0 + 1, 2**53 + 1, 0),
        (T0 + 2, INT64_MIN, 0),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_uint64_beyond_int64_leaves_bad_row(backend, tmp_path, request):
    """A UInt64 node above 2**63 - 1 on an int tag leaves one BAD row without a
    value, never a wrong GOOD value or a hole in the history."""
    config = typed_config(tmp_path, historian_settings(backend, request))
    samples = [
        node_sample("WTP1.starts", 5, VariantType.UInt64, T0),
        node_sample("WTP1.starts", UINT64_MAX, VariantType.UInt64, T0 + 1),
    ]

    rows = await store_and_read(config, samples, ["WTP1.starts"])

    assert rows["WTP1.starts"] == [(T0, 5, 0), (T0 + 1, None, 2)]


# Discrete alarms on typed tags and the alarm journal.


def alarm_config(data_dir: Path) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "devices": [
                {
                    "name": "WTP1",
                    "protocol": "opcua",
                    "endpoint": "opc.tcp://127.0.0.1:14840",
                    "tags": [
                        {
                            "name": "valve_state",
                            "node": NSU + "Valve/State",
                            "type": "string",
                            "alarms": [{"type": "discrete", "value": "fault, 2"}],
                        },
                        {
                            "name": "step",
                            "node": NSU + "Filter/Step",
                            "type": "string",
                            "alarms": [{"type": "discrete", "value": "1"}],
                        },
                        {
                            "name": "starts",
                            "node": NSU + "Pumps/Pump1/Starts",
                            "type": "int",
                            "alarms": [{"type": "high", "limit": 10}],
                        },
                    ],
                }
            ],
        }
    )


def transitions(result) -> list[tuple[str, str]]:
    return [(t.alarm_id, t.to_state.value) for t in result]


def text_sample(tag: str, text: str, ts: float) -> Sample:
    data_value = ua.DataValue(
        Value=ua.Variant(text, VariantType.String),
        SourceTimestamp=datetime.fromtimestamp(ts, timezone.utc),
    )
    return to_sample(tag, data_value, ts, declared="string")


def test_text_discrete_alarm_survives_restart(tmp_path):
    config = alarm_config(tmp_path)
    journal = tmp_path / "alarms.sqlite"
    first = AlarmEngine(config, journal, clock=lambda: T0)
    try:
        raised = first.process(
            [
                text_sample("WTP1.valve_state", "fault, 2", T0),
                text_sample("WTP1.step", "1", T0),
            ]
        )
    finally:
        first.close()

    second = AlarmEngine(config, journal, clock=lambda: T0 + 5)
    try:
        restored = {alarm["id"]: alarm for alarm in second.active()}
        unchanged = second.process([text_sample("WTP1.step", "1", T0 + 6)])
        cleared = second.process([text_sample("WTP1.step", "01", T0 + 7)])
    finally:
        second.close()

    assert transitions(raised) == [
        ("WTP1.valve_state.discrete", "unack_active"),
        ("WTP1.step.discrete", "unack_active"),
    ]
    assert restored["WTP1.valve_state.discrete"]["state"] == "unack_active"
    assert restored["WTP1.valve_state.discrete"]["value"] == "fault, 2"
    assert restored["WTP1.step.discrete"]["value"] == "1"
    assert unchanged == []
    assert transitions(cleared) == [("WTP1.step.discrete", "unack_rtn")]


def test_journal_takes_uint64_alarm_value(tmp_path):
    """A 64-bit unsigned counter above 2**63 - 1 raises its high alarm, the
    journal stores it, and the engine keeps working for the next sample."""
    config = alarm_config(tmp_path)
    journal = tmp_path / "alarms.sqlite"
    engine = AlarmEngine(config, journal, clock=lambda: T0)
    try:
        raised = engine.process([Sample("WTP1.starts", T0, UINT64_MAX)])
        cleared = engine.process([Sample("WTP1.starts", T0 + 1, 3)])
    finally:
        engine.close()

    restarted = AlarmEngine(config, journal, clock=lambda: T0 + 2)
    try:
        restored = {alarm["id"]: alarm for alarm in restarted.active()}
    finally:
        restarted.close()

    assert transitions(raised) == [("WTP1.starts.high", "unack_active")]
    assert transitions(cleared) == [("WTP1.starts.high", "unack_rtn")]
    assert restored["WTP1.starts.high"]["state"] == "unack_rtn"


# Careless configurations must stop `vigie check` with one line and status 2.

BASE = yaml.safe_load((REPO / "config.yaml").read_text())
WTP1_INDEX = next(i for i, d in enumerate(BASE["devices"]) if d["name"] == "WTP1")
WTP1 = f"devices[{WTP1_INDEX}]"
# Index of the first tag each case appends to WTP1.
NEW_TAG = len(BASE["devices"][WTP1_INDEX]["tags"])
NEW_RULE = len(BASE["alarms"]["rules"])
VALVE = {"name": "valve_state", "node": NSU + "Valve/State", "type": "string"}
COUNT = {"name": "batch_count", "node": NSU + "Batch/Count", "type": "int"}


def add_tags(*tags: dict):
    def mutate(config: dict) -> None:
        wtp1 = config["devices"][WTP1_INDEX]
        wtp1["tags"] += [copy.deepcopy(tag) for tag in tags]

    return mutate


def add_rule_and_tag(rule: dict, tag: dict):
    def mutate(config: dict) -> None:
        add_tags(tag)(config)
        config["alarms"]["rules"].append(rule)

    return mutate


def with_alarm(tag: dict, **alarm) -> dict:
    return {**tag, "alarms": [alarm]}


def deviation_on_text_setpoint(config: dict) -> None:
    add_tags(VALVE)(config)
    turbidity = config["devices"][WTP1_INDEX]["tags"][0]
    turbidity["alarms"].append(
        {"type": "deviation", "limit": 1.0, "setpoint": "WTP1.valve_state"}
    )


def run_check(tmp_path: Path, mutate) -> subprocess.CompletedProcess:
    config = copy.deepcopy(BASE)
    mutate(config)
    path = tmp_path / "careless.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


CARELESS_CASES = [
    pytest.param(
        add_tags(with_alarm(COUNT, type="discrete", value="3")),
        f"{WTP1}.tags[{NEW_TAG}].alarms[0].value",
        "the text '3' never matches",
        id="text-value-on-int-tag",
    ),
    pytest.param(
        add_tags(with_alarm(VALVE, type="discrete", value=3)),
        f"{WTP1}.tags[{NEW_TAG}].alarms[0].value",
        "3 never matches a string tag",
        id="number-value-on-string-tag",
    ),
    pytest.param(
        add_tags(with_alarm(VALVE, type="high", limit=3)),
        f"{WTP1}.tags[{NEW_TAG}].alarms[0].type",
        "a high alarm needs a numeric tag, but this tag is string",
        id="limit-alarm-on-string-tag",
    ),
    pytest.param(
        add_tags({**VALVE, "type": "double"}),
        f"{WTP1}.tags[{NEW_TAG}].type",
        "'float'",
        id="unknown-declared-type",
    ),
    pytest.param(
        add_tags(with_alarm({**COUNT, "type": "float"}, type="discrete", value=3)),
        f"{WTP1}.tags[{NEW_TAG}].alarms[0].type",
        "a discrete alarm compares exact values",
        id="discrete-on-float-tag",
    ),
    pytest.param(
        add_tags({**VALVE, "deadband_absolute": 0.5}),
        f"{WTP1}.tags[{NEW_TAG}].deadband_absolute",
        "string",
        id="deadband-on-string-tag",
    ),
    pytest.param(
        deviation_on_text_setpoint,
        f"{WTP1}.tags[0].alarms[1].setpoint",
        "string",
        id="deviation-from-string-tag",
    ),
    pytest.param(
        add_rule_and_tag(
            {
                "type": "expression",
                "name": "WTP1.valve_fault",
                "expression": "WTP1.valve_state == 1",
            },
            VALVE,
        ),
        f"alarms.rules[{NEW_RULE}].expression",
        "string",
        id="expression-on-string-tag",
    ),
]


@pytest.mark.parametrize(("mutate", "key_path", "reason"), CARELESS_CASES)
def test_careless_config_exits_2(tmp_path, mutate, key_path, reason):
    result = run_check(tmp_path, mutate)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f": {key_path}: " in lines[0]
    assert reason in lines[0]
