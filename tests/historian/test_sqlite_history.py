import asyncio
import math
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from historian import make_reader, make_writer
from historian.sqlite_store import SqliteReader, SqliteWriter
from vigie.config import Config
from vigie.model import Quality, Sample

T0 = 1733320000.0


async def write_all(writer, batches):
    """Start the writer, submit the batches, stop it and await the final flush."""
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for batch in batches:
        writer.submit(batch)
    stop.set()
    await asyncio.wait_for(task, 20)


async def test_sqlite_round_trip_exact_values(tmp_path, config_for):
    config = config_for(tmp_path / "data", flush_interval_s=3600)
    writer = make_writer(config)
    batches = [
        [
            Sample("PS1.pressure", T0 + 0.25, 3),
            Sample("PS1.pressure", T0 + 1.5, 3.5),
            Sample("PS1.pump1_running", T0, True),
            Sample("PS1.pump1_running", T0 + 1, False),
        ],
        [
            Sample("WTP1.mode", T0, 'auto "local"'),
            Sample("PS1.pressure", T0 + 2, None, Quality.BAD, "comm_failure"),
            Sample("PS1.pressure", T0 + 3, math.nan, Quality.BAD, "device_nan"),
            Sample("PS1.pressure", T0 + 4, 4.25, Quality.UNCERTAIN, "stale"),
        ],
    ]

    await write_all(writer, batches)

    reader = make_reader(config)
    assert reader.query_raw("PS1.pressure", T0, T0 + 10) == [
        (T0 + 0.25, 3.0, 0),
        (T0 + 1.5, 3.5, 0),
        (T0 + 2, None, 2),
        (T0 + 3, None, 2),
        (T0 + 4, 4.25, 1),
    ]
    assert reader.query_raw("PS1.pump1_running", T0, T0 + 10) == [
        (T0, 1.0, 0),
        (T0 + 1, 0.0, 0),
    ]
    assert reader.query_raw("WTP1.mode", T0, T0 + 10) == [(T0, 'auto "local"', 0)]
    reader.close()


async def test_sqlite_query_bounds_are_inclusive(tmp_path):
    path = tmp_path / "history.sqlite"
    samples = [Sample("PS1.level", T0 + i, float(i)) for i in range(5)]

    await write_all(SqliteWriter(path, 100, 3600), [samples])

    reader = SqliteReader(path)
    assert reader.query_raw("PS1.level", T0 + 1, T0 + 3) == [
        (T0 + 1, 1.0, 0),
        (T0 + 2, 2.0, 0),
        (T0 + 3, 3.0, 0),
    ]
    assert reader.query_raw("PS1.other", T0, T0 + 10) == []
    reader.close()


async def test_sqlite_layout_matches_contract(tmp_path, config_for):
    config = config_for(tmp_path / "new" / "data")
    batch = [
        Sample("PS1.pressure", T0 + 0.5, 2),
        Sample("PS1.fault", T0, True),
        Sample("WTP1.mode", T0, "auto"),
        Sample("PS1.pressure", T0 + 1, None, Quality.BAD, "comm_failure"),
    ]

    await write_all(make_writer(config), [batch])

    path = tmp_path / "new" / "data" / "history.sqlite"
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT tag, ts, value, text, quality FROM samples_by_name ORDER BY tag, ts"
    ).fetchall()
    assert rows == [
        ("PS1.fault", 1733320000000000000, 1.0, None, 0),
        ("PS1.pressure", 1733320000500000000, 2.0, None, 0),
        ("PS1.pressure", 1733320001000000000, None, None, 2),
        ("WTP1.mode", 1733320000000000000, None, "auto", 0),
    ]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    tag_columns = [row[1] for row in conn.execute("PRAGMA table_info(tags)")]
    assert tag_columns == ["id", "name", "kind"]
    sample_columns = [row[1] for row in conn.execute("PRAGMA table_info(samples)")]
    assert sample_columns == ["tag_id", "ts", "value", "text", "quality"]
    conn.close()


async def test_sqlite_writer_uses_normal_sync(tmp_path):
    writer = SqliteWriter(tmp_path / "history.sqlite", 100, 3600)
    await writer.start()

    assert writer._conn.execute("PRAGMA synchronous").fetchone() == (1,)
    assert writer._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    await writer.close()


async def test_sqlite_full_batch_flushes_before_interval(tmp_path, wait_for):
    path = tmp_path / "history.sqlite"
    writer = SqliteWriter(path, 3, 3600)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))

    writer.submit([Sample("PS1.level", T0 + i, float(i)) for i in range(3)])
    await wait_for(lambda: writer.stats()["written"] == 3)
    writer.submit([Sample("PS1.level", T0 + 3, 3.0)])

    assert writer.stats()["backlog"] == 1
    stop.set()
    await asyncio.wait_for(task, 20)
    assert writer.stats()["written"] == 4
    assert writer.stats()["backlog"] == 0


async def test_sqlite_interval_flushes_partial_batch(tmp_path, wait_for):
    path = tmp_path / "history.sqlite"
    writer = SqliteWriter(path, 1000, 0.1)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))

    writer.submit([Sample("PS1.level", T0, 1.0), Sample("RES1.level", T0, 2.0)])
    await wait_for(lambda: writer.stats()["written"] == 2)

    reader = SqliteReader(path)
    assert reader.query_raw("RES1.level", T0, T0) == [(T0, 2.0, 0)]
    stop.set()
    await asyncio.wait_for(task, 20)
    reader.close()


async def test_written_counts_per_device_across_chunks(tmp_path):
    # Chunks of 7 cut batches of one device at every position; the counts follow.
    writer = SqliteWriter(tmp_path / "history.sqlite", 7, 3600)
    sizes = [(0, 5), (1, 3), (2, 9), (0, 1), (1, 12), (2, 2), (0, 7)]
    batches = [
        [Sample(f"D{device}.t{index}", T0 + step, 1.0) for index in range(size)]
        for step, (device, size) in enumerate(sizes)
    ]
    # A batch from more than one device is counted sample by sample.
    batches.append(
        [Sample("D1.mixed", T0 + 10, 1.0)] * 2 + [Sample("D2.mixed", T0 + 10, 1.0)]
    )

    await write_all(writer, batches)

    stats = writer.stats()
    assert stats["written"] == 42
    assert stats["written_by_device"] == {"D0": 13, "D1": 17, "D2": 12}


async def test_sqlite_stop_flushes_everything(tmp_path):
    path = tmp_path / "history.sqlite"
    writer = SqliteWriter(path, 400, 3600)
    batches = [
        [Sample(f"D{d}.t{t}", T0 + i, float(i)) for d in range(3) for t in range(2)]
        for i in range(250)
    ]

    await write_all(writer, batches)

    assert writer.stats() == {
        "backend": "sqlite",
        "written": 1500,
        "backlog": 0,
        "spooled": 0,
        "quarantined": 0,
        "dropped": 0,
        "overflow": False,
        "unreachable": False,
        "errors": 0,
        "last_error": "",
        "written_by_device": {"D0": 500, "D1": 500, "D2": 500},
    }
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM samples").fetchone() == (1500,)
    assert conn.execute("SELECT count(*) FROM tags").fetchone() == (6,)
    conn.close()


async def test_sqlite_reopen_reuses_tag_ids(tmp_path):
    path = tmp_path / "history.sqlite"
    await write_all(SqliteWriter(path, 100, 3600), [[Sample("PS1.a", T0, 1.0)]])
    await write_all(
        SqliteWriter(path, 100, 3600),
        [[Sample("PS1.a", T0 + 1, 2.0), Sample("PS1.b", T0, 5.0)]],
    )

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, name FROM tags ORDER BY id").fetchall() == [
        (1, "PS1.a"),
        (2, "PS1.b"),
    ]
    conn.close()
    reader = SqliteReader(path)
    assert reader.query_raw("PS1.a", T0, T0 + 1) == [(T0, 1.0, 0), (T0 + 1, 2.0, 0)]
    reader.close()


async def test_sqlite_reader_before_file_exists(tmp_path):
    reader = SqliteReader(tmp_path / "missing" / "history.sqlite")

    assert reader.query_raw("PS1.a", T0, T0 + 1) == []
    reader.close()


async def test_sqlite_reader_from_many_threads(tmp_path):
    path = tmp_path / "history.sqlite"
    samples = [Sample("PS1.level", T0 + i, i * 0.5) for i in range(200)]
    await write_all(SqliteWriter(path, 1000, 3600), [samples])
    expected = [(T0 + i, i * 0.5, 0) for i in range(200)]
    reader = SqliteReader(path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: reader.query_raw("PS1.level", T0, T0 + 199), range(32))
        )

    assert all(result == expected for result in results)
    reader.close()


async def test_sqlite_writer_keeps_running_loop_free(tmp_path):
    # Count loop ticks while the writer stores 50 000 samples in one flush. A flush
    # on the loop thread would let no tick through before it ends.
    path = tmp_path / "history.sqlite"
    writer = SqliteWriter(path, 50_000, 3600)
    await writer.start()
    samples = [Sample("PS1.level", T0 + i * 0.001, float(i)) for i in range(50_000)]
    writer.submit(samples)
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    flushed = await writer._flush_buffer()
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)

    assert flushed is True
    assert writer.stats()["written"] == 50_000
    assert ticks > 1
    await writer.close()


async def test_opcua_declared_types_read_back(tmp_path):
    config = Config.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "devices": [
                {
                    "name": "WTP1",
                    "protocol": "opcua",
                    "endpoint": "opc.tcp://127.0.0.1:14840",
                    "tags": [
                        {"name": "running", "node": "ns=2;s=R", "type": "bool"},
                        {"name": "starts", "node": "ns=2;s=S", "type": "int"},
                        {"name": "untyped", "node": "ns=2;s=U"},
                    ],
                }
            ],
        }
    )
    writer = make_writer(config)
    batch = [
        Sample("WTP1.running", T0, True),
        Sample("WTP1.running", T0 + 1, False),
        Sample("WTP1.starts", T0, 2**40 + 1),
        Sample("WTP1.untyped", T0, True),
    ]

    await write_all(writer, [batch])

    reader = make_reader(config)
    running = reader.query_raw("WTP1.running", T0, T0 + 10)
    starts = reader.query_raw("WTP1.starts", T0, T0 + 10)
    untyped = reader.query_raw("WTP1.untyped", T0, T0 + 10)
    reader.close()
    assert running == [(T0, True, 0), (T0 + 1, False, 0)]
    assert [type(value) for _, value, _ in running] == [bool, bool]
    assert starts == [(T0, 2**40 + 1, 0)]
    assert type(starts[0][1]) is int
    assert untyped == [(T0, 1.0, 0)]
