"""Acknowledge: state changes, who and when, and what cannot be acknowledged."""

import pytest

from alarms import AlarmState
from vigie.model import Sample

HIGH_90 = {"pressure": [{"type": "high", "limit": 90}]}
ALARM_ID = "PS1.pressure.high"


def test_acknowledge_records_user_and_clock(make_engine, clock):
    engine = make_engine(HIGH_90)
    engine.process([Sample("PS1.pressure", 1.0, 95)])
    clock.now = 1234.5

    transition = engine.acknowledge(ALARM_ID, "amina", "valve checked")

    assert transition.from_state is AlarmState.UNACK_ACTIVE
    assert transition.to_state is AlarmState.ACK_ACTIVE
    assert transition.user == "amina"
    assert transition.ts == 1234.5
    assert transition.reason == "acknowledged: valve checked"
    assert transition.value == 95
    [alarm] = engine.active()
    assert alarm["state"] == "ack_active"
    assert alarm["acked_by"] == "amina"
    assert alarm["acked_ts"] == 1234.5
    assert alarm["since"] == 1.0


def test_acknowledge_without_comment(make_engine):
    engine = make_engine(HIGH_90)
    engine.process([Sample("PS1.pressure", 1.0, 95)])

    transition = engine.acknowledge(ALARM_ID, "amina")

    assert transition.reason == "acknowledged"


def test_nothing_to_acknowledge(make_engine):
    engine = make_engine(HIGH_90)

    in_normal = engine.acknowledge(ALARM_ID, "amina")
    engine.process([Sample("PS1.pressure", 1.0, 95)])
    engine.acknowledge(ALARM_ID, "amina")
    in_ack_active = engine.acknowledge(ALARM_ID, "karim")

    assert in_normal is None
    assert in_ack_active is None
    assert engine.active()[0]["acked_by"] == "amina"


def test_acknowledge_unknown_id(make_engine):
    engine = make_engine(HIGH_90)

    with pytest.raises(KeyError):
        engine.acknowledge("PS1.pressure.low", "amina")


def test_new_activation_clears_acknowledge(make_engine):
    engine = make_engine(HIGH_90)
    engine.process([Sample("PS1.pressure", 1.0, 95)])
    engine.acknowledge(ALARM_ID, "amina")
    engine.process([Sample("PS1.pressure", 2.0, 80), Sample("PS1.pressure", 3.0, 95)])

    [alarm] = engine.active()

    assert alarm["state"] == "unack_active"
    assert alarm["acked_by"] is None
    assert alarm["acked_ts"] is None
    assert alarm["since"] == 3.0


def test_stats_count_states(make_engine):
    engine = make_engine(
        {
            "pressure": [{"type": "high", "limit": 90}],
            "level": [{"type": "low", "limit": 1}],
            "temperature": [{"type": "high", "limit": 40}],
        }
    )
    engine.process(
        [
            Sample("PS1.pressure", 1.0, 95),
            Sample("PS1.level", 1.0, 0),
            Sample("PS1.temperature", 1.0, 50),
            Sample("PS1.temperature", 2.0, 20),
        ]
    )
    engine.acknowledge("PS1.pressure.high", "amina")

    assert engine.stats() == {
        "raised": 3,
        "raised_total": 3,
        "active": 3,
        "unacknowledged": 2,
        "shelved": 0,
        "suppressed": 0,
        "out_of_service": 0,
    }
