"""The SQLite journal: rows per transition, stored state, restart and ordering."""

import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from alarms import AlarmEngine
from alarms.journal import SCHEMA
from alarm_config import make_config
from vigie.config import load_config
from vigie.model import ConnectionState, DeviceStatus, Sample

ALARMS = {
    "pressure": [
        {"type": "high", "limit": 90, "deadband": 2, "priority": "high"},
        {"type": "low", "limit": 10, "on_delay_s": 5, "priority": "medium"},
    ],
    "pump_fault": [{"type": "discrete", "value": True, "priority": "critical"}],
}


def journal_rows(path):
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT ts, alarm_id, from_state, to_state, value, user, reason"
            " FROM journal ORDER BY id"
        ).fetchall()


def test_journal_file_in_new_folder_with_wal(make_engine, journal_path):
    assert not journal_path.parent.exists()

    make_engine(ALARMS)

    assert journal_path.is_file()
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"journal", "alarm_state"} <= tables


def test_default_journal_path_under_data_dir(tmp_path):
    data_dir = tmp_path / "site" / "data"
    engine = AlarmEngine(make_config(ALARMS, data_dir=str(data_dir)))
    engine.close()

    assert (data_dir / "alarms.sqlite").is_file()


def test_journal_rows_are_exactly_transitions(make_engine, journal_path, clock):
    engine = make_engine(ALARMS)
    transitions = engine.process(
        [
            Sample("PS1.pressure", 1.0, 95),
            Sample("PS1.flow", 1.0, 7),
            Sample("PS1.pump_fault", 1.5, True),
            Sample("PS1.pressure", 2.0, 89),
        ]
    )
    transitions += engine.process([Sample("PS1.pressure", 3.0, 50)])
    clock.now = 4.0
    transitions.append(engine.acknowledge("PS1.pressure.high", "amina", "seen"))

    expected = [
        (t.ts, t.alarm_id, t.from_state.value, t.to_state.value, t.value, t.user,
         t.reason)
        for t in transitions
    ]
    assert journal_rows(journal_path) == expected
    assert expected == [
        (1.0, "PS1.pressure.high", "normal", "unack_active", 95, None,
         "value 95 > limit 90"),
        (1.5, "PS1.pump_fault.discrete", "normal", "unack_active", 1, None,
         "value True = alarm value True"),
        (3.0, "PS1.pressure.high", "unack_active", "unack_rtn", 50, None,
         "value 50 < 88 (limit 90 - deadband)"),
        (4.0, "PS1.pressure.high", "unack_rtn", "normal", 50, "amina",
         "acknowledged: seen"),
    ]


def test_batch_commits_once(make_engine, monkeypatch):
    engine = make_engine(ALARMS)
    journal = engine._journal
    calls = []
    real_save = journal.save

    def counting_save(transitions, alarms):
        calls.append(len(list(transitions)))
        real_save(transitions, alarms)

    monkeypatch.setattr(journal, "save", counting_save)
    batch = [Sample("PS1.pressure", float(ts), 50 if ts % 2 else 95)
             for ts in range(300)]

    transitions = engine.process(batch)

    # 150 activations in 300 s also raise the area's flood alarm.
    assert len(transitions) == 301
    assert [t.alarm_id for t in transitions].count("PS1.flood") == 1
    assert calls == [301]


def test_batch_without_changes_writes_nothing(make_engine, journal_path, monkeypatch):
    engine = make_engine(ALARMS)
    calls = []
    monkeypatch.setattr(engine._journal, "save", lambda *args: calls.append(args))

    transitions = engine.process(
        [Sample("PS1.pressure", float(ts), 50) for ts in range(100)]
    )

    assert transitions == []
    assert calls == []


def test_restart_restores_states_and_acks(make_engine, journal_path, clock):
    first = make_engine(ALARMS)
    first.process(
        [
            Sample("PS1.pressure", 1.0, 95),
            Sample("PS1.pump_fault", 2.0, True),
        ]
    )
    clock.now = 3.0
    first.acknowledge("PS1.pressure.high", "amina")
    device = DeviceStatus(name="PS2", protocol="modbus_tcp")
    device.state = ConnectionState.DISCONNECTED
    first.on_device_state(device, 4.0)
    before = first.active()
    first.close()

    second = make_engine(ALARMS)

    assert second.active() == before
    assert [a["id"] for a in before] == [
        "PS2.comm_loss",
        "PS1.pump_fault.discrete",
        "PS1.pressure.high",
    ]
    assert before[2]["acked_by"] == "amina"
    assert before[2]["acked_ts"] == 3.0
    assert before[1]["value"] is True
    assert second.stats() == {
        "raised": 0,
        "raised_total": 3,
        "active": 3,
        "unacknowledged": 2,
        "shelved": 0,
        "suppressed": 0,
        "out_of_service": 0,
    }


def test_restart_does_not_raise_again(make_engine, journal_path):
    first = make_engine(ALARMS)
    first.process([Sample("PS1.pressure", 1.0, 95)])
    first.close()
    rows_before = journal_rows(journal_path)

    second = make_engine(ALARMS)
    transitions = second.process([Sample("PS1.pressure", 10.0, 96)])

    assert transitions == []
    assert journal_rows(journal_path) == rows_before
    assert second.active()[0]["since"] == 1.0


def test_activation_time_kept_after_return_and_restart(make_engine):
    first = make_engine(ALARMS)
    first.process([Sample("PS1.pressure", 1.0, 95)])
    first.process([Sample("PS1.pressure", 4.0, 50)])
    returned = first.active()[0]
    first.close()

    second = make_engine(ALARMS)
    restored = second.active()[0]

    assert returned["state"] == "unack_rtn"
    assert returned["since"] == 4.0
    assert returned["active_since"] == 1.0
    assert restored["state"] == "unack_rtn"
    assert restored["since"] == 4.0
    assert restored["active_since"] == 1.0


def test_restart_keeps_on_delay_timer(make_engine):
    first = make_engine(ALARMS)
    first.process([Sample("PS1.pressure", float(ts), 5) for ts in range(3)])
    first.close()

    second = make_engine(ALARMS)
    transitions = second.process([Sample("PS1.pressure", 5.0, 5)])

    assert [(t.alarm_id, t.ts) for t in transitions] == [("PS1.pressure.low", 5.0)]


def test_restart_clears_after_return(make_engine):
    first = make_engine(ALARMS)
    first.process([Sample("PS1.pressure", 1.0, 95)])
    first.close()

    second = make_engine(ALARMS)
    transitions = second.process([Sample("PS1.pressure", 2.0, 50)])

    assert [(t.from_state.value, t.to_state.value) for t in transitions] == [
        ("unack_active", "unack_rtn")
    ]


def test_stored_state_of_removed_alarm_is_ignored(make_engine):
    first = make_engine(ALARMS)
    first.process([Sample("PS1.pump_fault", 1.0, True)])
    first.close()

    second = make_engine({"pressure": ALARMS["pressure"]})

    assert second.active() == []


def test_active_sorted_by_priority_then_recent(make_engine):
    engine = make_engine(
        {
            "a": [{"type": "high", "limit": 1, "priority": "low"}],
            "b": [{"type": "high", "limit": 1, "priority": "critical"}],
            "c": [{"type": "high", "limit": 1, "priority": "low"}],
            "d": [{"type": "high", "limit": 1, "priority": "medium"}],
        }
    )
    engine.process(
        [
            Sample("PS1.a", 1.0, 5),
            Sample("PS1.b", 2.0, 5),
            Sample("PS1.c", 3.0, 5),
            Sample("PS1.d", 4.0, 5),
        ]
    )

    assert [a["id"] for a in engine.active()] == [
        "PS1.b.high",
        "PS1.d.high",
        "PS1.c.high",
        "PS1.a.high",
    ]


def test_duplicate_alarm_type_rejected():
    with pytest.raises(ValidationError, match="a second high alarm on the same tag"):
        make_config(
            {"pressure": [{"type": "high", "limit": 5}, {"type": "high", "limit": 6}]}
        )


def test_engine_from_project_config(tmp_path):
    config = load_config(Path(__file__).parents[2] / "config.yaml", data_dir=tmp_path)
    engine = AlarmEngine(config, clock=lambda: 0.0)
    expected_ids = [f"{device.name}.comm_loss" for device in config.devices] + [
        "PS1.discharge_pressure.high",
        "PS1.discharge_pressure.low",
        "PS1.pump1_fault.discrete",
        "RES1.level.high_high",
        "RES1.level.low_low",
    ]

    # Acknowledge returns None for a known alarm in NORMAL and raises KeyError
    # for an unknown id.
    acknowledged = [engine.acknowledge(alarm_id, "test") for alarm_id in expected_ids]
    engine.close()

    assert acknowledged == [None] * len(expected_ids)
    assert (tmp_path / "alarms.sqlite").is_file()


def test_failed_write_is_retried(make_engine, journal_path, caplog):
    engine = make_engine(ALARMS)
    with sqlite3.connect(journal_path) as other:
        other.execute("DROP TABLE journal")

    raised = engine.process([Sample("PS1.pressure", 1.0, 95)])
    returned = engine.process([Sample("PS1.pressure", 2.0, 50)])
    with sqlite3.connect(journal_path) as other:
        other.executescript(SCHEMA)
    engine.process([])

    assert len(raised) == 1
    assert len(returned) == 1
    assert [row[:4] for row in journal_rows(journal_path)] == [
        (1.0, "PS1.pressure.high", "normal", "unack_active"),
        (2.0, "PS1.pressure.high", "unack_active", "unack_rtn"),
    ]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "no such table: journal" in errors[0].getMessage()
