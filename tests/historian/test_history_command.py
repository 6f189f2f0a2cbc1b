"""`vigie history` on a real SQLite history, printed in the site time zone."""

import argparse
import asyncio
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from historian import make_writer
from vigie.commands import history
from vigie.config import Config
from vigie.errors import UsageError
from vigie.model import Quality, Sample

ZONE = ZoneInfo("Africa/Casablanca")
# 2024-03-10 03:00 local: the clocks go back to 02:00 (UTC+1 to UTC+0).
T0 = datetime(2024, 3, 10, 1, 0, tzinfo=ZONE).timestamp()


def parse(argv):
    parser = argparse.ArgumentParser(prog="vigie")
    history.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["history", *argv])


@pytest.fixture
def config(tmp_path):
    config = Config.model_validate(
        {
            "site": {"timezone": "Africa/Casablanca"},
            "data_dir": str(tmp_path),
            "historian": {"flush_interval_s": 3600},
            "devices": [
                {
                    "name": "RES1",
                    "protocol": "modbus_tcp",
                    "port": 15021,
                    "tags": [
                        {"name": "level", "address": 0, "type": "float32"},
                        {"name": "inflow", "address": 2, "type": "float32"},
                        {"name": "outflow", "address": 4, "type": "float32"},
                        {"name": "pump", "address": 6, "type": "bool", "bit": 0},
                    ],
                }
            ],
        }
    )

    async def fill():
        writer = make_writer(config)
        await writer.start()
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        writer.submit([Sample("RES1.level", T0 + 30 * i, i * 0.5) for i in range(480)])
        writer.submit(
            [Sample("RES1.inflow", T0 + 3600 * i, 10.0 + i) for i in range(4)]
        )
        writer.submit([Sample("RES1.pump", T0 + 60 * i, i % 2 == 1) for i in range(4)])
        writer.submit(
            [
                Sample("RES1.outflow", T0, 4.5),
                Sample("RES1.outflow", T0 + 30, 4.75, Quality.UNCERTAIN, "stale"),
                Sample("RES1.outflow", T0 + 60, None, Quality.BAD, "comm_failure"),
            ]
        )
        stop.set()
        await task

    asyncio.run(fill())
    return config


def output_of(config, argv):
    args = parse(argv)
    args.config_model = config
    out = io.StringIO()
    assert history.run(args, out) == 0
    return out.getvalue().splitlines()


def test_hourly_means_as_csv_with_offsets(config):
    lines = output_of(
        config,
        [
            "RES1.level",
            "RES1.inflow",
            "--from",
            "2024-03-10T01:00:00+01:00",
            "--to",
            "2024-03-10T04:00:00+00:00",
            "--every",
            "1h",
            "--format",
            "csv",
        ],
    )

    assert lines == [
        "time,RES1.level,RES1.inflow",
        "2024-03-10 01:00:00.000+01:00,29.75,10",
        "2024-03-10 02:00:00.000+01:00,89.75,11",
        "2024-03-10 02:00:00.000+00:00,149.75,12",
        "2024-03-10 03:00:00.000+00:00,209.75,13",
    ]


def test_raw_samples_as_table(config):
    lines = output_of(
        config,
        ["RES1.level", "--from", "2024-03-10T00:00:00Z", "--to", "2024-03-10T00:01Z"],
    )

    assert lines == [
        "time                           RES1.level",
        "2024-03-10 01:00:00.000+01:00  0",
        "2024-03-10 01:00:30.000+01:00  0.5",
        "2024-03-10 01:01:00.000+01:00  1",
    ]


def test_naive_time_is_site_time(config):
    lines = output_of(
        config,
        ["RES1.level", "--from", "2024-03-10T01:00", "--to", "2024-03-10T01:01"],
    )

    assert lines == [
        "time                           RES1.level",
        "2024-03-10 01:00:00.000+01:00  0",
        "2024-03-10 01:00:30.000+01:00  0.5",
        "2024-03-10 01:01:00.000+01:00  1",
    ]


def test_raw_quality_shown_in_table(config):
    lines = output_of(
        config,
        ["RES1.outflow", "--from", "2024-03-10T01:00", "--to", "2024-03-10T01:01"],
    )

    assert lines == [
        "time                           RES1.outflow",
        "2024-03-10 01:00:00.000+01:00  4.5",
        "2024-03-10 01:00:30.000+01:00  4.75 (uncertain)",
        "2024-03-10 01:01:00.000+01:00  (bad)",
    ]


def test_raw_quality_column_in_csv(config):
    lines = output_of(
        config,
        [
            "RES1.outflow",
            "--from",
            "2024-03-10T01:00",
            "--to",
            "2024-03-10T01:01",
            "--format",
            "csv",
        ],
    )

    assert lines == [
        "time,RES1.outflow,RES1.outflow quality",
        "2024-03-10 01:00:00.000+01:00,4.5,good",
        "2024-03-10 01:00:30.000+01:00,4.75,uncertain",
        "2024-03-10 01:01:00.000+01:00,,bad",
    ]


@pytest.mark.parametrize(
    ("agg", "expected"), [("max", "True"), ("min", "False"), ("mean", "0.5")]
)
def test_bool_aggregates_keep_type(config, agg, expected):
    lines = output_of(
        config,
        [
            "RES1.pump",
            "--from",
            "2024-03-10T01:00",
            "--to",
            "2024-03-10T02:00",
            "--every",
            "1h",
            "--agg",
            agg,
        ],
    )

    assert lines == [
        "time                           RES1.pump",
        f"2024-03-10 01:00:00.000+01:00  {expected}",
    ]


def test_unknown_tag_rejected(config):
    args = parse(["NOPE.x"])
    args.config_model = config

    with pytest.raises(UsageError, match="unknown tag 'NOPE.x'"):
        history.run(args, io.StringIO())


def test_end_before_start_rejected(config):
    args = parse(["RES1.level", "--from", "now", "--to=-1h"])
    args.config_model = config

    with pytest.raises(UsageError, match="--to is not after --from"):
        history.run(args, io.StringIO())


def test_bad_interval_rejected():
    with pytest.raises(SystemExit):
        parse(["RES1.level", "--every", "1 min"])
