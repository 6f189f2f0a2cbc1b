"""query_aggregate of both backends against a brute-force reference."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from historian import make_reader, make_writer
from historian.sqlite_reader import SqliteReader
from historian.sqlite_store import SqliteWriter
from vigie.config.historian import RetentionConfig
from vigie.model import Quality, Sample

CASABLANCA = ZoneInfo("Africa/Casablanca")
TAG = "PS1.outflow"
# Morocco turns its clocks back by one hour for Ramadan on 2024-03-10 at 03:00, so
# that local day has 25 hours. They go forward again on 2024-04-14 (23 hours).
START = datetime(2024, 3, 9, tzinfo=CASABLANCA).timestamp()
END = datetime(2024, 3, 12, tzinfo=CASABLANCA).timestamp()
STEP_S = 30


def make_samples(start=START, end=END, step_s=STEP_S):
    samples = []
    for index in range(int((end - start) // step_s)):
        ts = start + index * step_s
        # Multiples of 0.25 keep every sum exact, so both backends agree exactly.
        value = (index % 13) * 0.25 - 1.0
        quality = Quality.BAD if index % 97 == 0 else Quality.GOOD
        samples.append(Sample(TAG, ts, value, quality))
    samples.append(Sample(TAG, start + 7, None, Quality.BAD, "comm_failure"))
    return samples


def reference(samples, start, end, every_s, agg, tz=None):
    """Aggregate sample by sample, with no rollups and no SQL."""
    buckets = {}
    for sample in samples:
        if not start <= sample.ts < end or sample.value is None:
            continue
        if sample.quality == Quality.BAD:
            continue
        if tz is not None and every_s == 86400:
            day = datetime.fromtimestamp(sample.ts, ZoneInfo(tz)).date()
            bucket = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
            bucket = bucket.timestamp()
        else:
            bucket = sample.ts - sample.ts % every_s
        buckets.setdefault(bucket, []).append((sample.ts, sample.value))
    result = []
    for bucket in sorted(buckets):
        rows = buckets[bucket]
        values = [value for _ts, value in rows]
        if agg == "mean":
            value = sum(values) / len(values)
        elif agg == "min":
            value = min(values)
        elif agg == "max":
            value = max(values)
        elif agg == "count":
            value = len(values)
        else:
            value = max(rows)[1]
        result.append((bucket, value))
    return result


async def write_all(writer, samples):
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for index in range(0, len(samples), 1000):
        writer.submit(samples[index : index + 1000])
    stop.set()
    await asyncio.wait_for(task, 60)


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory):
    path = tmp_path_factory.mktemp("aggregates") / "history.sqlite"
    writer = SqliteWriter(path, 5000, 3600)
    asyncio.run(write_all(writer, make_samples()))
    reader = SqliteReader(path)
    yield reader
    reader.close()


CASES = [
    (START, END, 60, None),
    (START, END, 3600, None),
    (START + 45, END - 75, 3600, None),
    (START + 45, END - 75, 600, None),
    (START, END, 45, None),
    (START, END, 86400, "Africa/Casablanca"),
    (START + 3 * 3600 + 30, END - 90, 86400, "Africa/Casablanca"),
]


@pytest.mark.parametrize("agg", ["mean", "min", "max", "last", "count"])
@pytest.mark.parametrize(("start", "end", "every_s", "tz"), CASES)
def test_sqlite_aggregate_matches_reference(
    sqlite_history, start, end, every_s, tz, agg
):
    expected = reference(make_samples(), start, end, every_s, agg, tz)

    result = sqlite_history.query_aggregate(TAG, start, end, every_s, agg, tz)

    assert result == expected


def test_casablanca_clock_change_day_has_25_hours(sqlite_history):
    result = sqlite_history.query_aggregate(
        TAG, START, END, 86400, "count", "Africa/Casablanca"
    )

    starts = [datetime.fromtimestamp(ts, CASABLANCA).isoformat() for ts, _ in result]
    assert starts == [
        "2024-03-09T00:00:00+01:00",
        "2024-03-10T00:00:00+01:00",
        "2024-03-11T00:00:00+00:00",
    ]
    # 2 samples a minute, less the BAD ones (every 97th) and the one without value.
    assert [count for _ts, count in result] == [2850, 2969, 2850]


def test_utc_days_differ_from_local_days(sqlite_history):
    utc = sqlite_history.query_aggregate(TAG, START, END, 86400, "count")

    assert utc[0][0] == datetime(2024, 3, 8, tzinfo=ZoneInfo("UTC")).timestamp()
    assert len(utc) == 4


def test_unknown_aggregate_rejected(sqlite_history):
    with pytest.raises(ValueError, match="unknown aggregate 'median'"):
        sqlite_history.query_aggregate(TAG, START, END, 60, "median")


def test_unknown_tag_has_no_buckets(sqlite_history):
    assert sqlite_history.query_aggregate("PS1.absent", START, END, 60, "mean") == []


async def test_retention_keeps_rollups_past_raw(tmp_path):
    """Retention deletes raw rows past raw_days; the 1-minute rollups still serve."""
    path = tmp_path / "history.sqlite"
    now = END + 86400
    retention = RetentionConfig(raw_days=2.5, rollup_1m_days=30, rollup_1h_days=0)
    writer = SqliteWriter(path, 5000, 3600, retention=retention, clock=lambda: now)
    samples = make_samples()

    await write_all(writer, samples)
    # The periodic pass runs at start and then every interval_s.
    await SqliteWriter(path, 10, 3600, retention=retention, clock=lambda: now).start()

    reader = SqliteReader(path)
    cutoff = now - 2.5 * 86400
    raw = reader.query_raw(TAG, START, END)
    assert raw[0][0] == cutoff
    assert len(raw) == len([s for s in samples if s.ts >= cutoff])
    for agg in ("mean", "count", "last"):
        result = reader.query_aggregate(TAG, START, END, 3600, agg)
        assert result == reference(samples, START, END, 3600, agg)
    reader.close()


async def test_retention_drops_old_rollups(tmp_path):
    path = tmp_path / "history.sqlite"
    now = END + 86400
    retention = RetentionConfig(raw_days=1, rollup_1m_days=1, rollup_1h_days=1)
    writer = SqliteWriter(path, 5000, 3600, retention=retention, clock=lambda: now)

    await write_all(writer, make_samples())
    await SqliteWriter(path, 10, 3600, retention=retention, clock=lambda: now).start()

    reader = SqliteReader(path)
    assert reader.query_aggregate(TAG, START, END, 3600, "count") == []
    assert reader.query_raw(TAG, START, END) == []
    reader.close()


@pytest.mark.influxdb
async def test_both_backends_return_same_aggregates(
    tmp_path, config_for, influxdb_url, influxdb_database
):
    """Same data, same aggregates, including the Casablanca clock-change day and a
    SQLite range whose oldest raw rows retention has deleted."""
    samples = make_samples()
    sqlite_config = config_for(
        tmp_path / "data",
        flush_interval_s=3600,
        retention={"raw_days": 2.5, "rollup_1m_days": 0},
    )
    influx_config = config_for(
        tmp_path / "influx-data",
        backend="influxdb",
        flush_interval_s=3600,
        influxdb={"url": influxdb_url, "database": influxdb_database},
    )
    sqlite_writer = make_writer(sqlite_config)
    sqlite_writer.clock = lambda: END + 86400
    await write_all(sqlite_writer, samples)
    sqlite_again = make_writer(sqlite_config)
    sqlite_again.clock = lambda: END + 86400
    await sqlite_again.start()
    await write_all(make_writer(influx_config), samples)

    sqlite_reader = make_reader(sqlite_config)
    influx_reader = make_reader(influx_config)
    assert len(sqlite_reader.query_raw(TAG, START, END)) < len(samples)
    for start, end, every_s, tz in CASES:
        if every_s % 60:
            continue
        for agg in ("mean", "min", "max", "last", "count"):
            from_sqlite = sqlite_reader.query_aggregate(
                TAG, start, end, every_s, agg, tz
            )
            from_influx = influx_reader.query_aggregate(
                TAG, start, end, every_s, agg, tz
            )
            if start == START and end == END:
                assert from_sqlite == from_influx
            assert from_influx == reference(samples, start, end, every_s, agg, tz)
    sqlite_reader.close()
    influx_reader.close()
