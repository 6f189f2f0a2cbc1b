"""Historian benchmark: Vigie's writers and queries against the bare server and SQL.

Run from the repository root: ``python bench/historian.py [--quick]``. Needs Debian's
influxd; starts its own server on a free loopback port. Prints a Markdown table of
rates measured in this run, with each Vigie figure next to its raw reference.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from historian.influx_store import InfluxWriter  # noqa: E402
from historian.rollups import raw_cells  # noqa: E402
from historian.sqlite_reader import SqliteReader  # noqa: E402
from historian.sqlite_store import SqliteWriter  # noqa: E402
from tests.influx_server import InfluxServer, free_port, require_influxd  # noqa: E402
from vigie.config import InfluxConfig  # noqa: E402
from vigie.model import Sample  # noqa: E402

T0 = 1717200000.0  # 2024-06-01T00:00:00Z, a whole day in UTC
BATCH = 5000
# Request bodies as the writer sends them: not compressed, and gzip level 1.
GZIP_LEVELS = (0, 1)


# Tags of each device; a device's tags at one time are one collector batch.
TAGS_PER_DEVICE = 10


def make_samples(count: int, tags: int = 100) -> list[Sample]:
    return [
        Sample(
            f"D{i % tags // TAGS_PER_DEVICE}.t{i % tags}",
            T0 + i // tags,
            (i % 977) * 0.25,
        )
        for i in range(count)
    ]


def collector_batches(samples: list[Sample]):
    """Yield the samples in batches of one device at one time, as collectors
    publish them."""
    for index in range(0, len(samples), TAGS_PER_DEVICE):
        yield samples[index : index + TAGS_PER_DEVICE]


async def bare_influx(
    url: str, database: str, samples: list[Sample], gzip_level: int
) -> float:
    """Format lines with a plain f-string and post them in batches, one request at
    a time, gzip-compressed at ``gzip_level`` (0: not compressed); return seconds.
    The lines are those InfluxWriter sends for these samples (whole-second
    timestamps, tag names that need no escaping)."""
    headers = {"Content-Encoding": "gzip"} if gzip_level else {}
    async with aiohttp.ClientSession() as session:
        await session.post(f"{url}/query", data={"q": f'CREATE DATABASE "{database}"'})
        started = time.perf_counter()
        for index in range(0, len(samples), BATCH):
            body = "\n".join(
                f"telemetry,device={s.tag.split('.')[0]},tag={s.tag}"
                f" quality=0i,value={s.value!r} {int(s.ts) * 10**9}"
                for s in samples[index : index + BATCH]
            ).encode()
            if gzip_level:
                body = gzip.compress(body, gzip_level)
            async with session.post(
                f"{url}/write",
                params={"db": database, "precision": "ns"},
                data=body,
                headers=headers,
            ) as response:
                assert response.status == 204, await response.text()
        return time.perf_counter() - started


async def vigie_influx(
    url: str, database: str, samples: list[Sample], gzip_level: int
) -> float:
    """Submit samples to InfluxWriter in collector batches; return seconds."""
    writer = InfluxWriter(
        InfluxConfig(url=url, database=database), BATCH, 0.05, gzip_level=gzip_level
    )
    await writer.start()
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(writer.run(stop))
    for number, batch in enumerate(collector_batches(samples)):
        writer.submit(batch)
        if number % (BATCH // TAGS_PER_DEVICE) == 0:
            await asyncio.sleep(0)
    deadline = time.monotonic() + 600
    while writer.stats()["written"] < len(samples) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed


def bare_sqlite(path: Path, samples: list[Sample]) -> float:
    """executemany into the same samples table, without rollups; return seconds."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE samples(tag_id, ts INTEGER, value REAL, text TEXT, quality)"
    )
    conn.execute("CREATE INDEX samples_tag_ts ON samples(tag_id, ts)")
    tag_ids: dict[str, int] = {}
    started = time.perf_counter()
    for index in range(0, len(samples), BATCH):
        rows = [
            (tag_ids.setdefault(s.tag, len(tag_ids)), int(s.ts * 1e9), s.value, None, 0)
            for s in samples[index : index + BATCH]
        ]
        with conn:
            conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


async def vigie_sqlite(path: Path, samples: list[Sample]) -> float:
    writer = SqliteWriter(path, BATCH, 3600)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    started = time.perf_counter()
    for batch in collector_batches(samples):
        writer.submit(batch)
    stop.set()
    await task
    return time.perf_counter() - started


async def one_tag_history(path: Path, days: int) -> tuple[float, float, int]:
    """Store days of 1 s data for one tag; time 1-minute means from rollups and
    from raw rows. Return (rollup seconds, raw seconds, buckets)."""
    writer = SqliteWriter(path, 50_000, 3600)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for day in range(days):
        start = T0 + day * 86400
        writer.submit(
            [Sample("RES1.level", start + s, s % 600 * 0.01) for s in range(86400)]
        )
        await asyncio.sleep(0)
    stop.set()
    await task

    end = T0 + days * 86400
    reader = SqliteReader(path)
    started = time.perf_counter()
    buckets = reader.query_aggregate("RES1.level", T0, end, 60, "mean")
    rollup_s = time.perf_counter() - started

    conn = sqlite3.connect(path)
    tag_id = conn.execute("SELECT id FROM tags WHERE name = 'RES1.level'").fetchone()[0]
    started = time.perf_counter()
    raw = raw_cells(conn, tag_id, "mean", int(T0 * 1e9), int(end * 1e9), 0, 60 * 10**9)
    raw_s = time.perf_counter() - started
    conn.close()
    reader.close()
    assert len(raw) == len(buckets)
    return rollup_s, raw_s, len(buckets)


async def main(quick: bool) -> None:
    count = 200_000 if quick else 2_000_000
    days = 2 if quick else 30
    samples = make_samples(count)
    rows = []

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        server = InfluxServer(require_influxd(), root / "influxdb", free_port())
        server.start()
        try:
            for gzip_level in GZIP_LEVELS:
                suffix = f"gzip{gzip_level}"
                bare = await bare_influx(
                    server.url, f"bare_{suffix}", samples, gzip_level
                )
                vigie = await vigie_influx(
                    server.url, f"vigie_{suffix}", samples, gzip_level
                )
                encoding = f"gzip level {gzip_level}" if gzip_level else "no gzip"
                rows.append(
                    (
                        f"InfluxDB ingest, {count:,} points, {BATCH:,} a request,"
                        f" {encoding}",
                        f"{count / vigie:,.0f} points/s",
                        f"{count / bare:,.0f} points/s (bare /write loop, same"
                        " lines and encoding)",
                        f"{bare / vigie:.0%}",
                    )
                )
        finally:
            server.stop()

        bare = bare_sqlite(root / "bare.sqlite", samples)
        vigie = await vigie_sqlite(root / "vigie.sqlite", samples)
        rows.append(
            (
                f"SQLite inserts, {count:,} rows, with 1 m and 1 h rollups",
                f"{count / vigie:,.0f} rows/s",
                f"{count / bare:,.0f} rows/s (executemany, no rollups)",
                f"{bare / vigie:.0%}",
            )
        )

        rollup_s, raw_s, buckets = await one_tag_history(root / "month.sqlite", days)
        rows.append(
            (
                f"{days} days of 1 s data, one tag, as {buckets:,} 1-minute means",
                f"{rollup_s * 1000:,.0f} ms (rollups)",
                f"{raw_s * 1000:,.0f} ms (GROUP BY on raw rows)",
                f"{raw_s / rollup_s:.1f}x faster",
            )
        )

    print("| Measure | Vigie | Reference in the same run | Ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="200,000 points and 2 days, not 30"
    )
    asyncio.run(main(parser.parse_args().quick))
