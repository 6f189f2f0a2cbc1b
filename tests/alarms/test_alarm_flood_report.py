"""Flood detection per area, the EEMUA 191 performance report from the journal,
`vigie alarms report`, and the migration of a journal of the first schema."""

import argparse
import json
import sqlite3

import pytest
import yaml

from alarms import AlarmEngine, AlarmState
from alarms.journal import SCHEMA_VERSION
from vigie.commands import alarms as alarms_command
from vigie.config import load_config
from vigie.model import Sample

TAGS = {
    f"t{i}": [{"type": "high", "limit": 10, "priority": "low", "area": "north"}]
    for i in range(12)
}
TAGS["p"] = [{"type": "high", "limit": 10, "priority": "critical"}]


def raise_all(engine, start, count, step=30.0):
    found = []
    for i in range(count):
        found += engine.process([Sample(f"PS1.t{i}", start + i * step, 20)])
    return found


def test_eleventh_alarm_in_ten_minutes_floods_area(make_engine):
    engine = make_engine(TAGS)

    ten = raise_all(engine, 0.0, 10)
    flood_after_ten = engine.in_flood("north")
    eleventh = engine.process([Sample("PS1.t10", 300.0, 20)])

    assert len(ten) == 10
    assert flood_after_ten is False
    assert [(t.alarm_id, t.to_state, t.ts) for t in eleventh] == [
        ("PS1.t10.high", AlarmState.UNACK_ACTIVE, 300.0),
        ("north.flood", AlarmState.UNACK_ACTIVE, 300.0),
    ]
    assert engine.in_flood("north") is True
    assert engine.in_flood("PS1") is False


def test_flood_ends_when_window_calms(make_engine):
    engine = make_engine(TAGS)
    raise_all(engine, 0.0, 11)

    # Activations at t=0, 30, ... 300. At t=599 the window still holds all 11;
    # at t=751 it holds the 5 from t=180 on.
    still = engine.tick(599.0)
    calm = engine.tick(751.0)

    assert still == []
    assert [(t.alarm_id, t.to_state) for t in calm] == [
        ("north.flood", AlarmState.UNACK_RTN)
    ]
    assert engine.in_flood("north") is False


def test_spread_alarms_raise_no_flood(make_engine):
    engine = make_engine(TAGS)

    found = raise_all(engine, 0.0, 12, step=61.0)

    assert [t.alarm_id for t in found].count("north.flood") == 0


def test_flood_window_survives_restart(make_engine):
    first = make_engine(TAGS)
    raise_all(first, 990.0, 10, step=1.0)
    first.close()

    second = make_engine(TAGS)
    found = second.process([Sample("PS1.t10", 1001.0, 20)])

    assert [t.alarm_id for t in found] == ["PS1.t10.high", "north.flood"]


def chatter(engine, tag, start, count, step):
    for i in range(count):
        ts = start + i * step
        engine.process([Sample(tag, ts, 20), Sample(tag, ts + step / 2, 0)])


def test_report_counts(make_engine, clock):
    engine = make_engine(TAGS)
    chatter(engine, "PS1.t0", 0.0, 4, 10.0)
    raise_all(engine, 3600.0, 11, step=10.0)
    engine.process([Sample("PS1.p", 100.0, 20)])
    engine.tick(3600.0 + 1300.0)

    report = engine.report(0.0, 2 * 86400.0)

    north = report["areas"]["north"]
    assert north["alarms"] == 15
    assert north["alarms_per_10_min"]["max"] == 11
    assert north["alarms_per_10_min"]["periods"] == 288
    assert north["alarms_per_day"] == 7.5
    assert north["floods"] == [{"start": 3700.0, "end": 4900.0}]
    assert north["time_in_flood_s"] == 1200.0
    assert north["chattering"] == [{"alarm_id": "PS1.t0.high", "max_per_minute": 4}]
    assert north["most_frequent"][0] == {
        "alarm_id": "PS1.t0.high",
        "count": 5,
        "percent": 100.0 * 5 / 15,
    }
    assert len(north["most_frequent"]) == 10
    assert north["priority_mix"]["counts"] == {
        "critical": 0,
        "high": 0,
        "medium": 0,
        "low": 15,
    }
    ps1 = report["areas"]["PS1"]
    assert ps1["alarms"] == 1
    assert ps1["priority_mix"]["percent"] == {"high": 100.0, "medium": 0.0, "low": 0.0}
    # The critical alarm stays active to the end of the period: over 24 hours.
    assert [entry["alarm_id"] for entry in ps1["stale"]] == ["PS1.p.high"]
    assert ps1["stale"][0]["still_active"] is True
    assert report["total"]["alarms"] == 16


def test_report_of_one_area(make_engine):
    engine = make_engine(TAGS)
    raise_all(engine, 0.0, 3)
    engine.process([Sample("PS1.p", 100.0, 20)])

    report = engine.report(0.0, 600.0, area="PS1")

    assert list(report["areas"]) == ["PS1"]
    assert report["total"]["alarms"] == 1


def test_report_rejects_empty_period(make_engine):
    engine = make_engine(TAGS)

    with pytest.raises(ValueError, match="must be after its start"):
        engine.report(10.0, 10.0)


def write_config(tmp_path):
    config = {
        "data_dir": str(tmp_path / "data"),
        "site": {"timezone": "UTC"},
        "devices": [
            {
                "name": "PS1",
                "protocol": "modbus_tcp",
                "tags": [
                    {"name": name, "address": index, "type": "int16", "alarms": alarms}
                    for index, (name, alarms) in enumerate(TAGS.items())
                ],
            }
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_command(argv, config_path):
    parser = argparse.ArgumentParser()
    alarms_command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    args.config_model = load_config(config_path)
    return args.handler(args)


def test_cli_report_json_and_table(tmp_path, capsys):
    path = write_config(tmp_path)
    config = load_config(path)
    engine = AlarmEngine(config, clock=lambda: 0.0)
    raise_all(engine, 1717200000.0, 3)
    engine.close()

    status = run_command(
        [
            "alarms",
            "report",
            "--from",
            "2024-06-01",
            "--to",
            "2024-06-02",
            "--format",
            "json",
        ],
        path,
    )
    document = json.loads(capsys.readouterr().out)
    table_status = run_command(
        [
            "alarms",
            "report",
            "--from",
            "2024-06-01T00:00+00:00",
            "--to",
            "2024-06-02",
            "--area",
            "north",
        ],
        path,
    )
    table = capsys.readouterr().out

    assert status == 0
    assert document["start"] == 1717200000.0
    assert document["areas"]["north"]["alarms"] == 3
    assert table_status == 0
    assert "| north | 3 | 0.02 / 3 | 3.0 | 0 | 0.0 % | 0 | 0 | 0 / 0 / 100 |" in table


def test_cli_report_rejects_bad_time(tmp_path, capsys):
    path = write_config(tmp_path)

    status = run_command(
        ["alarms", "report", "--from", "yesterday", "--to", "2024-06-02"], path
    )

    assert status == 2
    assert "invalid time 'yesterday'" in capsys.readouterr().err


OLD_SCHEMA = """
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, alarm_id TEXT NOT NULL,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL, value, user TEXT,
    reason TEXT NOT NULL
);
CREATE TABLE alarm_state (
    alarm_id TEXT PRIMARY KEY, state TEXT NOT NULL, value, limit_value REAL,
    since REAL, acked_by TEXT, acked_ts REAL, pending_since REAL
);
INSERT INTO journal (ts, alarm_id, from_state, to_state, value, user, reason)
VALUES (5.0, 'PS1.p.high', 'normal', 'unack_active', 20, NULL, 'value 20 > limit 10');
INSERT INTO alarm_state VALUES
    ('PS1.p.high', 'unack_active', 20, 10, 5.0, NULL, NULL, NULL);
"""


def test_first_schema_file_is_migrated(make_engine, journal_path):
    journal_path.parent.mkdir(parents=True)
    with sqlite3.connect(journal_path) as conn:
        conn.executescript(OLD_SCHEMA)

    engine = make_engine(TAGS)
    again = engine.process([Sample("PS1.p", 10.0, 30)])
    report = engine.report(0.0, 600.0)

    assert again == []
    assert engine.active()[0]["id"] == "PS1.p.high"
    assert engine.active()[0]["since"] == 5.0
    assert engine.active()[0]["active_since"] is None
    assert engine.stats()["raised_total"] == 1
    assert report["areas"]["PS1"]["priority_mix"]["counts"]["critical"] == 1
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        row = conn.execute("SELECT area, priority, shown FROM journal").fetchone()
    assert row == (None, None, 1)
