import asyncio
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from historian import make_reader, make_writer
from historian.influx_reader import InfluxReader
from historian.influx_store import InfluxWriter
from tests.influx_server import InfluxServer, free_port, require_influxd
from vigie.config import InfluxConfig
from vigie.model import Quality, Sample

pytestmark = pytest.mark.influxdb

T0 = 1733320000.0
# Another shard group (7 days each) than T0, to hold a conflicting field type.
T_OLD = 1577836800.0


def influx_query(url, database, statement):
    params = urllib.parse.urlencode({"db": database, "q": statement, "epoch": "ns"})
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as response:
        return json.load(response)["results"][0]


def influx_write(url, database, body):
    create = urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'})
    with urllib.request.urlopen(f"{url}/query", data=create.encode(), timeout=10):
        pass
    request = urllib.request.Request(
        f"{url}/write?db={database}&precision=ns", data=body.encode(), method="POST"
    )
    # Under load, influxd 1.6 has returned 404 "database not found" to a write sent
    # right after CREATE DATABASE; a few bounded retries cover it.
    for _attempt in range(20):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 204
                return
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise
            time.sleep(0.1)
    pytest.fail(f"database {database} still not found after CREATE DATABASE")


async def write_all(writer, batches):
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for batch in batches:
        writer.submit(batch)
    stop.set()
    await asyncio.wait_for(task, 30)


SAMPLES = [
    Sample("PS1.pressure", T0 + 0.25, 3),
    Sample("PS1.pressure", T0 + 1.5, 3.5),
    Sample("PS1.pressure", T0 + 2, None, Quality.BAD, "comm_failure"),
    Sample("PS1.pressure", T0 + 3, math.nan),
    Sample("PS1.pressure", T0 + 4, 4.25, Quality.UNCERTAIN, "stale"),
    Sample("PS1.pump1_running", T0, True),
    Sample("PS1.pump1_running", T0 + 1, False),
    Sample("WTP1.mode", T0, 'auto "local" C:\\ été\nnuit'),
]

EXPECTED = {
    "PS1.pressure": [
        (T0 + 0.25, 3.0, 0),
        (T0 + 1.5, 3.5, 0),
        (T0 + 2, None, 2),
        (T0 + 3, None, 2),
        (T0 + 4, 4.25, 1),
    ],
    "PS1.pump1_running": [(T0, 1.0, 0), (T0 + 1, 0.0, 0)],
    "WTP1.mode": [(T0, 'auto "local" C:\\ été\nnuit', 0)],
}


async def test_influx_round_trip_exact_values(
    tmp_path, config_for, influxdb_url, influxdb_database
):
    config = config_for(
        tmp_path,
        backend="influxdb",
        flush_interval_s=3600,
        influxdb={"url": influxdb_url, "database": influxdb_database},
    )
    writer = make_writer(config)

    await write_all(writer, [SAMPLES[:3], SAMPLES[3:]])

    assert writer.stats()["written"] == 8
    assert writer.stats()["written_by_device"] == {"PS1": 7, "WTP1": 1}
    reader = make_reader(config)
    for tag, rows in EXPECTED.items():
        assert reader.query_raw(tag, T0, T0 + 10) == rows
    assert reader.query_raw("PS1.pressure", T0 + 1.5, T0 + 2) == rows_between(
        EXPECTED["PS1.pressure"], T0 + 1.5, T0 + 2
    )
    reader.close()


def rows_between(rows, start, end):
    return [row for row in rows if start <= row[0] <= end]


async def test_influx_layout_matches_contract(influxdb_url, influxdb_database):
    settings = InfluxConfig(url=influxdb_url, database=influxdb_database)

    await write_all(InfluxWriter(settings, 100, 3600), [SAMPLES])

    fields = influx_query(
        influxdb_url, influxdb_database, 'SHOW FIELD KEYS FROM "telemetry"'
    )
    assert fields["series"][0]["values"] == [
        ["quality", "integer"],
        ["reason", "string"],
        ["text", "string"],
        ["value", "float"],
    ]
    tags = influx_query(
        influxdb_url, influxdb_database, 'SHOW TAG KEYS FROM "telemetry"'
    )
    assert tags["series"][0]["values"] == [["device"], ["tag"]]
    rows = influx_query(
        influxdb_url,
        influxdb_database,
        'SELECT "device", "quality", "reason", "value" FROM "telemetry"'
        " WHERE \"tag\" = 'PS1.pressure'",
    )
    assert rows["series"][0]["values"] == [
        [1733320000250000000, "PS1", 0, None, 3],
        [1733320001500000000, "PS1", 0, None, 3.5],
        [1733320002000000000, "PS1", 2, "comm_failure", None],
        [1733320003000000000, "PS1", 2, "device_nan", None],
        [1733320004000000000, "PS1", 1, "stale", 4.25],
    ]


async def test_influx_writer_keeps_samples_while_server_down(tmp_path, wait_for):
    executable = require_influxd()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = InfluxConfig(url=url, database="late", timeout_s=2)
    writer = InfluxWriter(settings, 100, 0.1, retry_min_s=0.1, retry_max_s=0.5)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))

    writer.submit([Sample("PS1.level", T0 + i, float(i)) for i in range(20)])
    await wait_for(lambda: writer.stats()["errors"] >= 2)
    writer.submit([Sample("RES1.level", T0 + i, i + 0.5) for i in range(10)])

    down = writer.stats()
    assert down["written"] == 0
    assert down["backlog"] == 30
    assert "ClientConnectorError" in down["last_error"]

    server = InfluxServer(executable, tmp_path / "late-influxdb", port)
    server.start()
    try:
        await wait_for(lambda: writer.stats()["written"] == 30)
        stop.set()
        await asyncio.wait_for(task, 30)

        up = writer.stats()
        assert up["backlog"] == 0
        assert up["quarantined"] == 0
        assert up["written_by_device"] == {"PS1": 20, "RES1": 10}
        reader = InfluxReader(settings)
        assert reader.query_raw("PS1.level", T0, T0 + 100) == [
            (T0 + i, float(i), 0) for i in range(20)
        ]
        assert reader.query_raw("RES1.level", T0, T0 + 100) == [
            (T0 + i, i + 0.5, 0) for i in range(10)
        ]
    finally:
        server.stop()


async def test_influx_stop_reports_unwritten_backlog():
    settings = InfluxConfig(url=f"http://127.0.0.1:{free_port()}", database="gone")
    writer = InfluxWriter(
        settings, 100, 3600, retry_min_s=0.05, retry_max_s=0.2, drain_timeout_s=1.0
    )

    await write_all(writer, [[Sample("PS1.level", T0 + i, 1.0) for i in range(7)]])

    stats = writer.stats()
    assert stats["written"] == 0
    assert stats["backlog"] == 7
    assert stats["errors"] >= 1
    assert "ClientConnectorError" in stats["last_error"]


async def test_influx_rejected_points_quarantined(influxdb_url, influxdb_database):
    # An integer "value" in an older shard makes the server reject a float there.
    influx_write(
        influxdb_url,
        influxdb_database,
        f"telemetry,device=PS1,tag=PS1.old value=1i {int(T_OLD) * 10**9}",
    )
    settings = InfluxConfig(url=influxdb_url, database=influxdb_database)
    writer = InfluxWriter(settings, 100, 3600)
    batch = [Sample("PS1.level", T0 + i, float(i)) for i in range(5)]
    batch.insert(2, Sample("PS1.old", T_OLD + 1, 2.5))
    # Every batch contains one device's samples, as collectors publish them.
    bad_name = [Sample("RES1.bad\nname", T0, 1.0)]

    await write_all(writer, [batch, bad_name])

    stats = writer.stats()
    assert stats["written"] == 5
    assert stats["quarantined"] == 2
    assert stats["backlog"] == 0
    assert stats["errors"] == 0
    assert stats["written_by_device"] == {"PS1": 5}
    reader = InfluxReader(settings)
    assert reader.query_raw("PS1.level", T0, T0 + 10) == [
        (T0 + i, float(i), 0) for i in range(5)
    ]
    assert reader.query_raw("PS1.old", T_OLD, T_OLD + 10) == [(T_OLD, 1.0, None)]


async def test_sqlite_and_influx_readers_agree(
    tmp_path, config_for, influxdb_url, influxdb_database
):
    sqlite_config = config_for(tmp_path / "data", flush_interval_s=3600)
    influx_config = config_for(
        tmp_path / "unused",
        backend="influxdb",
        flush_interval_s=3600,
        influxdb={"url": influxdb_url, "database": influxdb_database},
    )
    more = [Sample("FDR1.energy", T0 + i * 0.001, 2**31 + i) for i in range(50)]

    await write_all(make_writer(sqlite_config), [SAMPLES, more])
    await write_all(make_writer(influx_config), [SAMPLES, more])

    sqlite_reader = make_reader(sqlite_config)
    influx_reader = make_reader(influx_config)
    for tag in [*EXPECTED, "FDR1.energy", "PS1.absent"]:
        sqlite_rows = sqlite_reader.query_raw(tag, T0, T0 + 10)
        influx_rows = influx_reader.query_raw(tag, T0, T0 + 10)
        assert sqlite_rows == influx_rows
        assert sqlite_rows == EXPECTED.get(tag, rows_of(more, tag))
    sqlite_reader.close()
    influx_reader.close()


def rows_of(samples, tag):
    return [(s.ts, float(s.value), int(s.quality)) for s in samples if s.tag == tag]
