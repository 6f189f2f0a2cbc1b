"""Line protocol cases seen in the field, from golden lines to the real server."""

import asyncio
import json
import math
import urllib.parse
import urllib.request

import pytest

from historian import make_reader, make_writer
from historian.influx_transport import V1Transport
from historian.kinds import FLOAT, INTEGER, converted
from historian.lineproto import LineProtocolError, format_point, format_sample
from historian.quarantine import Quarantine
from vigie.config import Config, InfluxConfig
from vigie.model import Sample

NS = 1717236000000000000
TS = 1717236000.0

GOLDEN = [
    "telemetry,site=Plant\\ A,tag=PT-101\\ Inlet\\,\\ Stage\\=2,unit=m³/h"
    ' desc="Valve \\"V-7\\" at C:\\\\temp",value=12.5 1717236000000000000',
    "Boiler\\ room\\,north,tag=TT\\ 7 flow\\ rate=3.0 1717236000000000000",
]


def golden_points():
    return [
        format_point(
            "telemetry",
            {"unit": "m³/h", "tag": "PT-101 Inlet, Stage=2", "site": "Plant A"},
            {"value": 12.5, "desc": 'Valve "V-7" at C:\\temp'},
            NS,
        ),
        format_point("Boiler room,north", {"tag": "TT 7"}, {"flow rate": 3.0}, NS),
    ]


def test_escaping_golden_lines():
    assert golden_points() == GOLDEN


def test_declared_type_decides_field_type():
    lines = [
        format_point(
            "telemetry", {"tag": "PT-100"}, {"value": converted(25, FLOAT)}, NS
        ),
        format_point(
            "telemetry",
            {"tag": "PT-100"},
            {"value": converted(24.6, FLOAT)},
            NS + 1_000_000_000,
        ),
        format_point(
            "telemetry", {"tag": "E-1"}, {"value": converted(19150, INTEGER)}, NS
        ),
    ]

    assert lines == [
        "telemetry,tag=PT-100 value=25.0 1717236000000000000",
        "telemetry,tag=PT-100 value=24.6 1717236001000000000",
        "telemetry,tag=E-1 value=19150i 1717236000000000000",
    ]
    assert "25i" not in "\n".join(lines)


def test_integer_tag_with_fraction_rejected():
    with pytest.raises(ValueError, match="not a whole number"):
        format_sample("telemetry", Sample("FDR1.energy", TS, 3.5), INTEGER)


def test_nan_batch_has_two_value_lines():
    batch = {"PV_P": math.nan, "TT_1": 23.5, "PT_2": -12.25}

    points = [
        format_point("telemetry", {"tag": tag}, {"value": value}, NS)
        for tag, value in batch.items()
    ]
    samples = [Sample(tag, TS, value) for tag, value in batch.items()]
    body = "\n".join(format_sample("telemetry", sample) for sample in samples)

    assert [point for point in points if point is not None] == [
        "telemetry,tag=TT_1 value=23.5 1717236000000000000",
        "telemetry,tag=PT_2 value=-12.25 1717236000000000000",
    ]
    assert len([line for line in body.split("\n") if "value=" in line]) == 2
    assert body.split("\n")[0] == (
        'telemetry,device=PV_P,tag=PV_P quality=2i,reason="device_nan"'
        " 1717236000000000000"
    )
    for token in ("NaN", "nan", "inf", "-inf"):
        assert f"={token} " not in body


def test_timestamps_before_2000_rejected():
    with pytest.raises(LineProtocolError, match="before 2000-01-01"):
        format_sample("telemetry", Sample("PS1.flow", 1440089182 / 1e9, 1.0))
    with pytest.raises(LineProtocolError, match="before 2000-01-01"):
        format_point("telemetry", {"tag": "a"}, {"value": 1.0}, 1440089182)


def test_line_break_in_tag_name_has_clear_error():
    with pytest.raises(LineProtocolError, match="cannot contain a line break"):
        format_sample("telemetry", Sample("PS1.bad\nname", TS, 1.0))


def influx_query(url, database, statement, epoch="ns"):
    params = {"db": database, "q": statement}
    if epoch:
        params["epoch"] = epoch
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}/query?{query}", timeout=10) as response:
        return json.load(response)["results"][0]


def network_config(data_dir, url, database) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "historian": {
                "backend": "influxdb",
                "flush_interval_s": 3600,
                "influxdb": {"url": url, "database": database},
            },
            "devices": [
                {
                    "name": "FDR1",
                    "protocol": "modbus_tcp",
                    "port": 15022,
                    "tags": [
                        {"name": "power", "address": 0, "type": "float32"},
                        {"name": "energy", "address": 2, "type": "uint32"},
                        {"name": "breaker", "address": 4, "type": "bool", "bit": 0},
                        {"name": "mode", "address": 5, "type": "string", "count": 4},
                    ],
                }
            ],
        }
    )


async def write_all(writer, batches):
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for batch in batches:
        writer.submit(batch)
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.mark.influxdb
async def test_golden_lines_round_trip(influxdb_url, influxdb_database):
    transport = V1Transport(InfluxConfig(url=influxdb_url, database=influxdb_database))
    await transport.open()
    await transport.prepare()
    status = await transport.post(GOLDEN)
    await transport.close()

    assert status == (204, "", None)
    first = influx_query(influxdb_url, influxdb_database, 'SELECT * FROM "telemetry"')
    series = first["series"][0]
    assert series["columns"] == ["time", "desc", "site", "tag", "unit", "value"]
    assert series["values"] == [
        [
            NS,
            'Valve "V-7" at C:\\temp',
            "Plant A",
            "PT-101 Inlet, Stage=2",
            "m³/h",
            12.5,
        ]
    ]
    second = influx_query(
        influxdb_url, influxdb_database, 'SELECT * FROM "Boiler room,north"'
    )
    assert second["series"][0]["columns"] == ["time", "flow rate", "tag"]
    assert second["series"][0]["values"] == [[NS, 3, "TT 7"]]


HOSTILE = {
    'PS1.Inlet valve, stage=2 "A"': 'said "stop", then C:\\temp\\x = 1\nbye',
    "PS1.débit m³/h,sortie": "équipe=nuit, «arrêt»",
    "PS1.a=b\\c": "\\",
}


@pytest.mark.influxdb
async def test_hostile_names_round_trip(tmp_path, influxdb_url, influxdb_database):
    config = network_config(tmp_path, influxdb_url, influxdb_database)
    batch = [Sample(tag, TS, text) for tag, text in HOSTILE.items()]

    await write_all(make_writer(config), [batch])

    reader = make_reader(config)
    for tag, text in HOSTILE.items():
        assert reader.query_raw(tag, TS, TS) == [(TS, text, 0)]


@pytest.mark.influxdb
async def test_float_tag_keeps_float_after_integer(
    tmp_path, influxdb_url, influxdb_database
):
    config = network_config(tmp_path, influxdb_url, influxdb_database)
    writer = make_writer(config)
    batches = [
        [Sample("FDR1.power", TS, 3), Sample("FDR1.energy", TS, 19150)],
        [Sample("FDR1.power", TS + 1, 3.5), Sample("FDR1.energy", TS + 1, 19151.0)],
        [Sample("FDR1.breaker", TS, True), Sample("FDR1.mode", TS, "auto")],
    ]

    await write_all(writer, batches)

    assert writer.stats()["written"] == 6
    assert writer.stats()["quarantined"] == 0
    reader = make_reader(config)
    power = reader.query_raw("FDR1.power", TS, TS + 1)
    assert power == [(TS, 3.0, 0), (TS + 1, 3.5, 0)]
    assert type(power[0][1]) is float
    energy = reader.query_raw("FDR1.energy", TS, TS + 1)
    assert energy == [(TS, 19150, 0), (TS + 1, 19151, 0)]
    assert type(energy[0][1]) is int
    assert reader.query_raw("FDR1.breaker", TS, TS) == [(TS, True, 0)]
    assert reader.query_raw("FDR1.mode", TS, TS) == [(TS, "auto", 0)]
    fields = influx_query(influxdb_url, influxdb_database, "SHOW FIELD KEYS")
    types = {series["name"]: dict(series["values"]) for series in fields["series"]}
    assert types["telemetry"]["value"] == "float"
    assert types["telemetry_integer"]["value"] == "integer"


@pytest.mark.influxdb
async def test_type_conflict_quarantines_only_offenders(
    tmp_path, influxdb_url, influxdb_database
):
    config = network_config(tmp_path, influxdb_url, influxdb_database)
    # Older data wrote an integer "value" into the float measurement.
    transport = V1Transport(InfluxConfig(url=influxdb_url, database=influxdb_database))
    await transport.open()
    await transport.prepare()
    # Another shard group (7 days each) than TS, which has no integer yet.
    old_ns = 1577836800 * 10**9
    await transport.post([f"telemetry,device=FDR1,tag=FDR1.power value=25i {old_ns}"])
    await transport.close()
    writer = make_writer(config)
    batch = [Sample("FDR1.power", TS + 1 + i, 24.6 + i) for i in range(3)]
    batch.insert(1, Sample("FDR1.power", old_ns / 1e9 + 1, 24.6))
    batch.append(Sample("FDR1.energy", TS, 19150))

    await write_all(writer, [batch])

    stats = writer.stats()
    assert stats["written"] == 4
    assert stats["quarantined"] == 1
    assert stats["errors"] == 0
    rows = Quarantine(tmp_path / "historian-quarantine.sqlite").rows()
    assert len(rows) == 1
    assert rows[0][:2] == ("FDR1.power", old_ns + 10**9)
    assert "field type conflict" in rows[0][2]
    assert rows[0][2].startswith("HTTP 400: ")
    reader = make_reader(config)
    assert reader.query_raw("FDR1.power", TS, TS + 10) == [
        (TS + 1 + i, 24.6 + i, 0) for i in range(3)
    ]


@pytest.mark.influxdb
async def test_explicit_nanosecond_precision(tmp_path, influxdb_url, influxdb_database):
    config = network_config(tmp_path, influxdb_url, influxdb_database)
    writer = make_writer(config)
    batch = [
        Sample("FDR1.power", 1440089182, 1.0),
        Sample("FDR1.power", 1717236000000 / 1000, 2.0),
        # Seconds taken for nanoseconds land in 1970: rejected, never written.
        Sample("FDR1.power", 1440089182 / 1e9, 3.0),
    ]

    await write_all(writer, [batch])

    assert writer.stats()["quarantined"] == 1
    epoch = influx_query(
        influxdb_url, influxdb_database, 'SELECT "value" FROM "telemetry"'
    )
    assert epoch["series"][0]["values"] == [
        [1440089182000000000, 1],
        [1717236000000000000, 2],
    ]
    rfc3339 = influx_query(
        influxdb_url, influxdb_database, 'SELECT "value" FROM "telemetry"', epoch=None
    )
    assert [row[0] for row in rfc3339["series"][0]["values"]] == [
        "2015-08-20T16:46:22Z",
        "2024-06-01T10:00:00Z",
    ]
    rows = Quarantine(tmp_path / "historian-quarantine.sqlite").rows()
    assert rows[0][:2] == ("FDR1.power", 1440089182)
    assert "before 2000-01-01" in rows[0][2]
