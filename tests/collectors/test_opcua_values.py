"""Data values to samples, and node ids resolved against a namespace array."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from asyncua import ua

from collectors.opcua.node_ids import NodeIdError, resolve_node_id
from collectors.opcua.subscription import keepalive_count, subscription_parameters
from collectors.opcua.values import to_sample
from vigie.model import Quality

SOURCE = datetime(2026, 5, 4, 3, 2, 1, 500000, tzinfo=timezone.utc)
SERVER = datetime(2026, 5, 4, 3, 2, 2, tzinfo=timezone.utc)
RECEIVED = 1_800_000_000.25
NAMESPACES = ["http://opcfoundation.org/UA/", "urn:first", "urn:plant"]


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
    params = subscription_parameters(500.0)

    assert keepalive_count(500.0) == 10
    assert keepalive_count(10_000.0) == 1
    assert params.RequestedPublishingInterval == 500.0
    assert params.RequestedMaxKeepAliveCount == 10
    assert params.RequestedLifetimeCount == 100
