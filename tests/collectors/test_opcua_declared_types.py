"""OPC UA tags with a declared data type: conversion, mismatches and alarm checks."""

from __future__ import annotations

import logging

import pytest
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
from pydantic import ValidationError

from collectors.opcua.collector import OpcUaCollector
from collectors.opcua.values import to_sample
from vigie.config import OpcUaTag
from vigie.model import Quality

NSU = f"nsu={NAMESPACE_URI};s="
RECEIVED = 1_800_000_000.0

GOOD_CASES = [
    ("float", 7, ua.VariantType.Int32, 7.0, float),
    ("float", 2.5, ua.VariantType.Double, 2.5, float),
    ("int", 7, ua.VariantType.Int32, 7, int),
    ("int", 3.0, ua.VariantType.Double, 3, int),
    ("int", -(2**63), ua.VariantType.Int64, -(2**63), int),
    ("bool", False, ua.VariantType.Boolean, False, bool),
    ("string", "north", ua.VariantType.String, "north", str),
]

MISMATCH_CASES = [
    ("float", "12.5", ua.VariantType.String, "str"),
    ("float", True, ua.VariantType.Boolean, "bool"),
    ("int", 2.5, ua.VariantType.Double, "float"),
    ("int", True, ua.VariantType.Boolean, "bool"),
    ("bool", 1, ua.VariantType.Int32, "int"),
    ("string", 1.5, ua.VariantType.Double, "float"),
]


def typed_sample(declared, value, variant_type):
    data_value = ua.DataValue(Value=ua.Variant(value, variant_type))
    return to_sample("WTP1.t", data_value, RECEIVED, declared=declared)


@pytest.mark.parametrize(
    ("declared", "value", "variant_type", "expected", "expected_type"), GOOD_CASES
)
def test_declared_type_converts(declared, value, variant_type, expected, expected_type):
    sample = typed_sample(declared, value, variant_type)

    assert sample.value == expected
    assert type(sample.value) is expected_type
    assert sample.quality is Quality.GOOD


@pytest.mark.parametrize(("declared", "value", "variant_type", "sent"), MISMATCH_CASES)
def test_declared_type_mismatch_is_bad(declared, value, variant_type, sent):
    sample = typed_sample(declared, value, variant_type)

    assert sample.value is None
    assert sample.quality is Quality.BAD
    assert sample.reason == (
        f"config_error:type mismatch: the node sends {sent}, the tag declares"
        f" {declared}"
    )


def test_undeclared_tag_keeps_any_scalar():
    data_value = ua.DataValue(Value=ua.Variant("12.5", ua.VariantType.String))

    sample = to_sample("WTP1.t", data_value, RECEIVED)

    assert sample.value == "12.5"
    assert sample.quality is Quality.GOOD


def test_limit_alarm_on_bool_tag_rejected():
    with pytest.raises(ValidationError, match="a high alarm needs a numeric tag"):
        OpcUaTag.model_validate(
            {
                "name": "running",
                "node": "ns=2;s=Running",
                "type": "bool",
                "alarms": [{"type": "high", "limit": 1}],
            }
        )


def test_discrete_alarm_on_float_tag_rejected():
    with pytest.raises(ValidationError, match="discrete alarm compares exact values"):
        OpcUaTag.model_validate(
            {
                "name": "flow",
                "node": "ns=2;s=Flow",
                "type": "float",
                "alarms": [{"type": "discrete", "value": 1}],
            }
        )


TYPED_TAGS = [
    {"name": "starts", "node": NSU + "Pumps/Pump1/Starts", "type": "float"},
    {"name": "running", "node": NSU + "Pumps/Pump1/Running", "type": "bool"},
    {"name": "plant_name", "node": NSU + "Plant/Name", "type": "float"},
    {"name": "outflow", "node": NSU + "Outlet/Flow"},
]


@pytest.mark.parametrize("mode", ["subscription", "polling"])
async def test_collector_applies_declared_types(mode, caplog):
    # A string node declared as float turns bad in both modes and is logged and
    # stored once for two values, while the other tags of the device stay good.
    # The flow is written last, so its new value shows that the second name has
    # been read.
    caplog.set_level(logging.INFO, logger="collectors.opcua.collector")
    server = PlantServer()
    await server.start()
    recorder = Recorder()
    device = make_device(server.endpoint, TYPED_TAGS, mode=mode, poll_interval_s=0.2)
    try:
        async with RunningCollector(OpcUaCollector(device, recorder, new_status())):
            assert await wait_until(lambda: recorder.latest("WTP1.plant_name"))
            await server.write("Plant/Name", "south")
            await server.write("Outlet/Flow", 19.5)
            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").value == 19.5
            )
    finally:
        await server.stop()

    starts = recorder.latest("WTP1.starts")
    assert starts.value == 7.0
    assert type(starts.value) is float
    assert starts.quality is Quality.GOOD
    assert recorder.latest("WTP1.running").value is True
    name = recorder.latest("WTP1.plant_name")
    assert name.value is None
    assert name.quality is Quality.BAD
    assert name.reason == (
        "config_error:type mismatch: the node sends str, the tag declares float"
    )
    assert recorder.latest("WTP1.outflow").quality is Quality.GOOD
    logged = [r for r in caplog.records if "WTP1.plant_name" in r.getMessage()]
    assert len(logged) == 1
    # The second name repeats the bad state, so it is not stored again.
    assert len(recorder.samples("WTP1.plant_name")) == 1


@pytest.mark.parametrize("mode", ["subscription", "polling"])
async def test_still_mismatched_tag_stored_after_restart(mode):
    # The loss of communication stores every tag bad for comm_failure, so a tag
    # still of the wrong type after the restart is stored bad for that again.
    first = PlantServer()
    await first.start()
    second = PlantServer(port=first.port)
    recorder = Recorder()
    status = new_status()
    device = make_device(first.endpoint, TYPED_TAGS, mode=mode, poll_interval_s=0.2)
    try:
        async with RunningCollector(OpcUaCollector(device, recorder, status)):
            assert await wait_until(lambda: recorder.latest("WTP1.plant_name"))
            await first.stop()
            assert await wait_until(
                lambda: recorder.latest("WTP1.plant_name").reason == "comm_failure"
            )
            await second.start()
            assert await wait_until(
                lambda: recorder.latest("WTP1.plant_name").reason.startswith(
                    "config_error:"
                )
            )
    finally:
        await first.stop()
        await second.stop()

    reasons = [sample.reason for sample in recorder.samples("WTP1.plant_name")]
    mismatch = "config_error:type mismatch: the node sends str, the tag declares float"
    assert reasons == [mismatch, "comm_failure", mismatch]
