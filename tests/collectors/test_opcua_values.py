"""Data values to samples, and node ids resolved against a namespace array."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from asyncua import ua
from pydantic import ValidationError

from collectors.opcua.node_ids import NodeIdError, resolve_node_id
from collectors.opcua.subscription import (
    Revised,
    keepalive_count,
    monitored_item_requests,
    subscription_parameters,
)
from collectors.opcua.timestamps import Origin, choose_timestamp
from collectors.opcua.values import severity, to_sample
from vigie.config import OpcUaDevice
from vigie.model import Quality

SOURCE = datetime(2026, 5, 4, 3, 2, 1, 500000, tzinfo=timezone.utc)
SERVER = datetime(2026, 5, 4, 3, 2, 2, tzinfo=timezone.utc)
RECEIVED = 1_800_000_000.25
NAMESPACES = ["http://opcfoundation.org/UA/", "urn:first", "urn:plant"]


def plant_device(**settings) -> OpcUaDevice:
    fields = {
        "name": "WTP1",
        "protocol": "opcua",
        "endpoint": "opc.tcp://127.0.0.1:4840",
        "tags": [{"name": "t", "node": "ns=2;s=T"}],
    }
    fields.update(settings)
    return OpcUaDevice.model_validate(fields)


def data_value(
    value, variant_type, status=ua.StatusCodes.Good, source=SOURCE, server=SERVER
):
    return ua.DataValue(
        Value=ua.Variant(value, variant_type),
        StatusCode=ua.StatusCode(status),
        SourceTimestamp=source,
        ServerTimestamp=server,
    )


def test_timestamp_source_server_receive_order():
    with_source = to_sample("D.t", data_value(1.5, ua.VariantType.Double), RECEIVED)
    server_only = to_sample(
        "D.t", data_value(1.5, ua.VariantType.Double, source=None), RECEIVED
    )
    neither = to_sample(
        "D.t",
        data_value(1.5, ua.VariantType.Double, source=None, server=None),
        RECEIVED,
    )

    assert with_source.ts == 1777863721.5
    assert server_only.ts == 1777863722.0
    assert neither.ts == RECEIVED


def test_null_source_time_counts_as_missing():
    null_time = datetime(1601, 1, 1, tzinfo=timezone.utc)
    sample = to_sample(
        "D.t", data_value(2.0, ua.VariantType.Double, source=null_time), RECEIVED
    )

    assert sample.ts == 1777863722.0


@pytest.mark.parametrize(
    ("value", "variant_type", "expected", "expected_type"),
    [
        (True, ua.VariantType.Boolean, True, bool),
        (False, ua.VariantType.Boolean, False, bool),
        (-7, ua.VariantType.Int16, -7, int),
        (4_000_000_000, ua.VariantType.UInt32, 4_000_000_000, int),
        (0.25, ua.VariantType.Float, 0.25, float),
        (3.5, ua.VariantType.Double, 3.5, float),
        ("open", ua.VariantType.String, "open", str),
    ],
)
def test_value_keeps_type(value, variant_type, expected, expected_type):
    sample = to_sample("D.t", data_value(value, variant_type), RECEIVED)

    assert sample.value == expected
    assert type(sample.value) is expected_type
    assert sample.quality is Quality.GOOD
    assert sample.reason == ""


def test_uncertain_keeps_value_and_status():
    sample = to_sample(
        "D.t",
        data_value(
            4.0, ua.VariantType.Double, ua.StatusCodes.UncertainSensorNotAccurate
        ),
        RECEIVED,
    )

    assert sample.quality is Quality.UNCERTAIN
    assert sample.value == 4.0
    assert sample.reason == "server_status:UncertainSensorNotAccurate"


def test_bad_drops_value_keeps_status():
    sample = to_sample(
        "D.t",
        data_value(4.0, ua.VariantType.Double, ua.StatusCodes.BadDeviceFailure),
        RECEIVED,
    )

    assert sample.quality is Quality.BAD
    assert sample.value is None
    assert sample.reason == "server_status:BadDeviceFailure"


def test_array_value_is_config_error():
    sample = to_sample("D.t", data_value([1, 2], ua.VariantType.Int32), RECEIVED)

    assert sample.quality is Quality.BAD
    assert sample.value is None
    assert sample.reason == "config_error:unsupported value type list"


def test_namespace_uri_resolves_current_index():
    before = resolve_node_id("nsu=urn:plant;s=Outlet/Flow", NAMESPACES)
    after = resolve_node_id(
        "nsu=urn:plant;s=Outlet/Flow", NAMESPACES[:1] + ["urn:new"] + NAMESPACES[1:]
    )

    assert before == ua.NodeId("Outlet/Flow", 2)
    assert after == ua.NodeId("Outlet/Flow", 3)


def test_index_and_numeric_ids_pass_through():
    assert resolve_node_id("ns=1;i=42", NAMESPACES) == ua.NodeId(42, 1)
    assert resolve_node_id("i=2258", NAMESPACES) == ua.NodeId(2258, 0)


def test_unknown_namespace_uri_raises():
    with pytest.raises(NodeIdError) as caught:
        resolve_node_id("nsu=urn:missing;s=X", NAMESPACES)

    assert str(caught.value) == (
        "namespace 'urn:missing' not found in the server's namespace array"
    )


def test_keepalive_count_covers_five_seconds():
    params = subscription_parameters(plant_device(publishing_interval_ms=500.0))

    assert keepalive_count(500.0) == 10
    assert keepalive_count(10_000.0) == 1
    assert params.RequestedPublishingInterval == 500.0
    assert params.RequestedMaxKeepAliveCount == 10
    assert params.RequestedLifetimeCount == 100


def test_lifetime_raised_to_three_keepalives():
    device = plant_device(
        publishing_interval_ms=1000.0, max_keepalive_count=30, lifetime_count=10
    )
    params = subscription_parameters(device)

    assert params.RequestedMaxKeepAliveCount == 30
    assert params.RequestedLifetimeCount == 90


def test_watchdog_uses_revised_values():
    result = ua.CreateSubscriptionResult(
        SubscriptionId=1,
        RevisedPublishingInterval=1000.0,
        RevisedLifetimeCount=90,
        RevisedMaxKeepAliveCount=10,
    )
    revised = Revised.of(result)

    assert revised.keepalive_period_s == 10.0
    assert revised.publish_timeout_s == 15.0
    # The bound on a missing Publish response stays above interval x keep-alives.
    assert revised.publish_timeout_s > 1000.0 * 10 / 1000.0


def test_deadband_filters_by_type():
    device = plant_device(
        tags=[
            {"name": "a", "node": "ns=2;s=A", "deadband_absolute": 0.5},
            {"name": "b", "node": "ns=2;s=B", "deadband_percent": 2.0},
            {"name": "c", "node": "ns=2;s=C", "queue_size": 5},
        ]
    )
    node_ids = {0: ua.NodeId("A", 2), 1: ua.NodeId("B", 2), 2: ua.NodeId("C", 2)}
    requests = monitored_item_requests(node_ids, device.tags, 250.0)
    absolute = requests[0].RequestedParameters.Filter
    percent = requests[1].RequestedParameters.Filter

    assert absolute.DeadbandType == ua.DeadbandType.Absolute
    assert absolute.DeadbandValue == 0.5
    assert absolute.Trigger == ua.DataChangeTrigger.StatusValue
    assert percent.DeadbandType == ua.DeadbandType.Percent
    assert percent.DeadbandValue == 2.0
    assert requests[2].RequestedParameters.Filter is None
    assert requests[2].RequestedParameters.QueueSize == 5
    assert requests[2].RequestedParameters.SamplingInterval == 250.0
    assert [r.RequestedParameters.ClientHandle for r in requests] == [0, 1, 2]


# A flow transmitter's samples as a gateway sends them: the status code decides the
# quality from its two top bits, whatever the low bits carry.
STATUS_TABLE = [
    (0x00000000, 75.0, Quality.GOOD, 75.0, ""),
    (0x40000000, 82.0, Quality.UNCERTAIN, 82.0, "server_status:Uncertain"),
    (0x80050000, None, Quality.BAD, None, "server_status:BadCommunicationError"),
    (0x000000C0, 76.0, Quality.GOOD, 76.0, ""),
]


@pytest.mark.parametrize(
    ("code", "value", "quality", "expected", "reason"), STATUS_TABLE
)
def test_status_severity_table(code, value, quality, expected, reason):
    variant = ua.Variant(value, ua.VariantType.Double) if value is not None else None
    data = ua.DataValue(
        Value=variant,
        StatusCode=ua.StatusCode(code),
        SourceTimestamp=SOURCE,
        ServerTimestamp=SERVER,
    )
    sample = to_sample("D.FT101", data, RECEIVED)

    assert sample.quality is quality
    assert sample.value == expected
    assert sample.reason == reason


def test_bad_with_value_never_keeps_it():
    sample = to_sample(
        "D.t",
        data_value(82.0, ua.VariantType.Double, 0x80050000),
        RECEIVED,
    )

    assert sample.value is None
    assert sample.quality is Quality.BAD


def test_severity_from_top_bits():
    assert severity(0x00000000) is Quality.GOOD
    assert severity(0x000000C0) is Quality.GOOD
    assert severity(0x40000000) is Quality.UNCERTAIN
    assert severity(0x408F0000) is Quality.UNCERTAIN
    assert severity(0x80000000) is Quality.BAD
    assert severity(0xC0000000) is Quality.BAD


RECEIVED_AT = datetime(2024, 6, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
SERVER_AT = datetime(2024, 6, 1, 10, 0, 0, tzinfo=timezone.utc)


def test_timestamp_none_none_uses_receive_time():
    stamp = choose_timestamp(None, None, RECEIVED_AT.timestamp())

    assert stamp.ts == 1717236000.25
    assert stamp.origin is Origin.CLIENT
    assert stamp.clock_skew is False


def test_timestamp_null_source_uses_server_time():
    null_source = datetime(1601, 1, 1, tzinfo=timezone.utc)
    stamp = choose_timestamp(null_source, SERVER_AT, RECEIVED_AT.timestamp())

    assert stamp.ts == 1717236000.0
    assert stamp.origin is Origin.SERVER
    assert stamp.clock_skew is False


def test_timestamp_skewed_source_uses_server_time():
    ahead = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    stamp = choose_timestamp(ahead, SERVER_AT, RECEIVED_AT.timestamp())

    assert stamp.ts == 1717236000.0
    assert stamp.origin is Origin.SERVER
    assert stamp.clock_skew is True


def test_timestamp_normal_source_kept():
    source = datetime(2024, 6, 1, 9, 59, 59, 900000, tzinfo=timezone.utc)
    stamp = choose_timestamp(source, SERVER_AT, RECEIVED_AT.timestamp())

    assert stamp.ts == 1717235999.9
    assert stamp.origin is Origin.SOURCE
    assert stamp.clock_skew is False


def test_timestamp_server_preferred_when_configured():
    source = datetime(2024, 6, 1, 9, 59, 59, 900000, tzinfo=timezone.utc)
    stamp = choose_timestamp(source, SERVER_AT, RECEIVED_AT.timestamp(), "server")

    assert stamp.ts == 1717236000.0
    assert stamp.origin is Origin.SERVER


def test_timestamp_never_before_2000_or_in_future():
    received = RECEIVED_AT.timestamp()
    old = datetime(1999, 12, 31, 23, 59, tzinfo=timezone.utc)
    future = datetime(2024, 6, 1, 10, 6, 0, tzinfo=timezone.utc)

    assert choose_timestamp(old, None, received).ts == received
    assert choose_timestamp(future, None, received).ts == received
    assert choose_timestamp(None, future, received).ts == received
    assert choose_timestamp(old, old, received).origin is Origin.CLIENT


def test_missing_password_variable_rejected(monkeypatch):
    monkeypatch.delenv("VIGIE_TEST_OPCUA_PASSWORD", raising=False)
    with pytest.raises(ValidationError) as caught:
        plant_device(username="operator", password_env="VIGIE_TEST_OPCUA_PASSWORD")

    assert (
        "password_env: environment variable 'VIGIE_TEST_OPCUA_PASSWORD' is not"
        " set" in str(caught.value)
    )


def test_security_needs_certificate():
    with pytest.raises(ValidationError) as caught:
        plant_device(security_policy="Basic256Sha256", security_mode="Sign")

    assert "certificate_path: missing" in str(caught.value)


def test_two_deadbands_rejected():
    with pytest.raises(ValidationError) as caught:
        plant_device(
            tags=[
                {
                    "name": "a",
                    "node": "ns=2;s=A",
                    "deadband_absolute": 0.5,
                    "deadband_percent": 1.0,
                }
            ]
        )

    assert "set either deadband_absolute or deadband_percent" in str(caught.value)
