"""Store-and-forward: nothing lost while InfluxDB is down, at shutdown or on restart.

Times are compressed: 10 tags sampled every simulated second, the server refusing
connections for a few real seconds.
"""

import asyncio
import json
import sqlite3
import urllib.parse
import urllib.request

import pytest

from historian import make_writer
from historian.spool import Spool
from tests.influx_server import InfluxServer, free_port, require_influxd
from vigie.config import Config
from vigie.model import Sample

pytestmark = pytest.mark.influxdb

T0 = 1733320000.0
TAGS = [f"RES1.t{index}" for index in range(10)]


def config_of(data_dir, url, database, **historian) -> Config:
    settings = {
        "backend": "influxdb",
        "batch_size": 500,
        "flush_interval_s": 0.1,
        "retry_min_s": 0.1,
        "retry_max_s": 0.5,
        "influxdb": {"url": url, "database": database, "timeout_s": 2},
    }
    settings.update(historian)
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "historian": settings,
            "devices": [
                {
                    "name": "RES1",
                    "protocol": "modbus_tcp",
                    "port": 15021,
                    "tags": [{"name": "level", "address": 0}],
                }
            ],
        }
    )


def second(index):
    return [Sample(tag, T0 + index, float(index)) for tag in TAGS]


def points_in(url, database):
    params = urllib.parse.urlencode(
        {
            "db": database,
            "q": 'SELECT "tag", "value" FROM "telemetry" ORDER BY time',
            "epoch": "ns",
        }
    )
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as response:
        result = json.load(response)["results"][0]
    if "series" not in result:
        return []
    return [tuple(row) for row in result["series"][0]["values"]]


async def wait_until(condition, timeout_s=30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


async def run_outage(tmp_path, config, server, seconds=60, outage=(20, 50)):
    """Submit one sample per tag and simulated second; stop the server meanwhile."""
    writer = make_writer(config)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    flags = []
    for index in range(seconds):
        if index == outage[0]:
            await wait_until(lambda: writer.stats()["backlog"] == 0)
            server.stop()
        if index == outage[1]:
            # Every sample of the outage has reached the spool (or been dropped).
            outage_samples = (outage[1] - outage[0]) * len(TAGS)
            await wait_until(
                lambda: (
                    writer.stats()["spooled"] + writer.stats()["dropped"]
                    == outage_samples
                )
            )
            flags.append(writer.stats())
            server.start()
        writer.submit(second(index))
        await asyncio.sleep(0.02)
    await wait_until(lambda: writer.stats()["backlog"] == 0)
    stop.set()
    await asyncio.wait_for(task, 30)
    return writer, flags


@pytest.fixture
def own_server(tmp_path):
    server = InfluxServer(require_influxd(), tmp_path / "influxdb", free_port())
    server.start()
    yield server
    server.stop()


async def test_outage_loses_no_point(tmp_path, own_server):
    config = config_of(tmp_path / "data", own_server.url, "outage")

    writer, flags = await run_outage(tmp_path, config, own_server)

    points = points_in(own_server.url, "outage")
    assert len(points) == 600
    assert len(set(points)) == 600
    assert [row[0] for row in points] == sorted(row[0] for row in points)
    assert flags[0]["unreachable"] is True
    assert flags[0]["dropped"] == 0
    stats = writer.stats()
    assert stats["written"] == 600
    assert stats["spooled"] == 0
    assert stats["unreachable"] is False
    assert stats["overflow"] is False


async def test_small_spool_drops_oldest_and_flags(tmp_path, own_server):
    config = config_of(
        tmp_path / "data", own_server.url, "overflow", spool={"max_samples": 200}
    )

    writer, flags = await run_outage(tmp_path, config, own_server)

    # 30 simulated seconds of outage are 300 samples: the oldest 100 go.
    stats = writer.stats()
    assert stats["dropped"] == 100
    assert stats["overflow"] is True
    assert stats["last_error"] == "store-and-forward overflow: 100 samples dropped"
    points = points_in(own_server.url, "overflow")
    assert len(points) == 500
    seconds = sorted({round(row[0] / 1e9 - T0) for row in points})
    assert seconds == list(range(20)) + list(range(30, 60))


async def test_stop_while_down_spools_then_replays(tmp_path, own_server):
    """A clean stop during an outage spools the batch; the next start replays it."""
    config = config_of(tmp_path / "data", own_server.url, "restart", batch_size=500)
    config = config.model_copy(
        update={
            "historian": config.historian.model_copy(update={"flush_interval_s": 3.0})
        }
    )
    own_server.stop()
    writer = make_writer(config)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for index in range(10):
        writer.submit(second(index))
    stop.set()
    await asyncio.wait_for(task, 30)

    assert writer.stats()["spooled"] == 100
    conn = sqlite3.connect(tmp_path / "data" / "historian-spool.sqlite")
    assert conn.execute("SELECT count(*) FROM spool").fetchone() == (100,)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    conn.close()

    own_server.start()
    again = make_writer(config)
    await again.start()
    assert again.stats()["backlog"] == 100
    stop = asyncio.Event()
    task = asyncio.create_task(again.run(stop))
    await wait_until(lambda: again.stats()["backlog"] == 0)
    stop.set()
    await asyncio.wait_for(task, 30)

    assert len(points_in(own_server.url, "restart")) == 100


async def test_stop_before_flush_interval_writes_all(
    tmp_path, influxdb_url, influxdb_database
):
    config = config_of(
        tmp_path / "data", influxdb_url, influxdb_database, flush_interval_s=3.0
    )
    writer = make_writer(config)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for index in range(10):
        writer.submit(second(index))

    stop.set()
    await asyncio.wait_for(task, 30)

    assert len(points_in(influxdb_url, influxdb_database)) == 100
    assert writer.stats()["backlog"] == 0


def test_spool_keeps_order_and_types(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10**9)
    spool.open()
    samples = [
        Sample("A.b", T0, True),
        Sample("A.c", T0 + 1, 3),
        Sample("A.d", T0 + 2, "text"),
        Sample("A.e", T0 + 3, None, 2, "comm_failure"),
    ]

    spool.append(samples)
    last_id, read = spool.oldest(3)
    spool.remove_through(last_id)

    assert read == samples[:3]
    assert type(read[0].value) is bool
    assert len(spool) == 1
    assert spool.oldest(10)[1] == samples[3:]
    spool.close()


def test_spool_byte_limit_drops_oldest(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=200_000)
    spool.open()

    for index in range(100):
        spool.append(second(index) * 10)

    assert spool.used_bytes() <= 200_000
    assert spool.dropped > 0
    assert spool.dropped + len(spool) == 10_000
    first = spool.oldest(1)[1][0]
    assert first.ts == T0 + spool.dropped // 100
    spool.close()
    again = Spool(tmp_path / "spool.sqlite", max_bytes=200_000)
    again.open()
    assert again.dropped == spool.dropped
    again.close()
