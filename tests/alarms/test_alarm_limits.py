"""Limit alarms: strict comparison, deadband, on/off delay and unusable samples."""

import math

import pytest

from alarms import AlarmState
from vigie.model import Quality, Reason, Sample

TAG = "PS1.pressure"


def series(values, start=0.0, step=1.0):
    return [Sample(TAG, start + i * step, value) for i, value in enumerate(values)]


def state_of(engine, alarm_id):
    for alarm in engine.active():
        if alarm["id"] == alarm_id:
            return alarm["state"]
    return "normal"


def test_high_is_strictly_above_limit(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})

    at_limit = engine.process([Sample(TAG, 1.0, 90)])
    above = engine.process([Sample(TAG, 2.0, 90.001)])

    assert at_limit == []
    assert [t.to_state for t in above] == [AlarmState.UNACK_ACTIVE]
    assert above[0].ts == 2.0
    assert above[0].value == 90.001


def test_high_clears_only_below_deadband(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "deadband": 2}]})
    engine.process([Sample(TAG, 1.0, 95)])

    inside_deadband = engine.process(series([89, 88.5, 88], start=2.0))
    below = engine.process([Sample(TAG, 5.0, 87.99)])

    assert inside_deadband == []
    assert [t.to_state for t in below] == [AlarmState.UNACK_RTN]
    assert below[0].ts == 5.0


def test_low_mirrors_high(make_engine):
    engine = make_engine({"pressure": [{"type": "low", "limit": 10, "deadband": 1}]})

    at_limit = engine.process([Sample(TAG, 1.0, 10)])
    below = engine.process([Sample(TAG, 2.0, 9.5)])
    inside_deadband = engine.process(series([10, 10.5, 11], start=3.0))
    above = engine.process([Sample(TAG, 6.0, 11.01)])

    assert at_limit == []
    assert [t.to_state for t in below] == [AlarmState.UNACK_ACTIVE]
    assert inside_deadband == []
    assert [t.to_state for t in above] == [AlarmState.UNACK_RTN]


def test_high_high_and_high_on_one_tag(make_engine):
    engine = make_engine(
        {
            "pressure": [
                {"type": "high_high", "limit": 95, "priority": "critical"},
                {"type": "high", "limit": 90},
            ]
        }
    )

    transitions = engine.process(series([92, 97]))

    assert [(t.alarm_id, t.ts) for t in transitions] == [
        ("PS1.pressure.high", 0.0),
        ("PS1.pressure.high_high", 1.0),
    ]
    assert transitions[1].priority == "critical"


def test_low_low_alarm_id_and_default_message(make_engine):
    engine = make_engine({"pressure": [{"type": "low_low", "limit": 0.5}]})

    transitions = engine.process([Sample(TAG, 1.0, 0.2)])

    assert [t.alarm_id for t in transitions] == ["PS1.pressure.low_low"]
    assert transitions[0].message == "PS1.pressure below 0.5 bar"


CHATTER = [90.5, 89.5] * 10


def test_chatter_with_deadband_raises_once(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "deadband": 1}]})

    transitions = engine.process(series(CHATTER))

    assert [(t.to_state, t.ts) for t in transitions] == [(AlarmState.UNACK_ACTIVE, 0.0)]


def test_chatter_without_deadband_raises_every_cycle(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})

    transitions = engine.process(series(CHATTER))

    raised = [t for t in transitions if t.to_state is AlarmState.UNACK_ACTIVE]
    returned = [t for t in transitions if t.to_state is AlarmState.UNACK_RTN]
    assert len(raised) == 10
    assert len(returned) == 10
    assert engine.stats()["raised"] == 10


ON_DELAY_VALUES = [95, 95, 95, 89, 95, 95, 95, 95, 95, 95]


def test_on_delay_dip_restarts_timer(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "on_delay_s": 5}]})

    activations = []
    for sample in series(ON_DELAY_VALUES):
        for transition in engine.process([sample]):
            activations.append((transition.ts, transition.to_state))

    assert activations == [(9.0, AlarmState.UNACK_ACTIVE)]


def test_on_delay_in_one_batch(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "on_delay_s": 5}]})

    transitions = engine.process(series(ON_DELAY_VALUES))

    assert [(t.ts, t.value) for t in transitions] == [(9.0, 95)]


def test_on_delay_zero_raises_at_once(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "on_delay_s": 0}]})

    transitions = engine.process(series(ON_DELAY_VALUES))

    assert [(t.ts, t.to_state) for t in transitions] == [
        (0.0, AlarmState.UNACK_ACTIVE),
        (3.0, AlarmState.UNACK_RTN),
        (4.0, AlarmState.UNACK_ACTIVE),
    ]


def test_off_delay_dip_restarts_timer(make_engine):
    engine = make_engine(
        {"pressure": [{"type": "high", "limit": 90, "deadband": 2, "off_delay_s": 3}]}
    )
    values = [95, 80, 80, 95, 80, 80, 80, 80]

    transitions = engine.process(series(values))

    assert [(t.ts, t.to_state) for t in transitions] == [
        (0.0, AlarmState.UNACK_ACTIVE),
        (7.0, AlarmState.UNACK_RTN),
    ]


def test_deadband_value_restarts_off_delay(make_engine):
    engine = make_engine(
        {"pressure": [{"type": "high", "limit": 90, "deadband": 2, "off_delay_s": 2}]}
    )
    # 89 is inside the deadband: the condition still holds, so the timer restarts.
    values = [95, 80, 89, 80, 80, 80]

    transitions = engine.process(series(values))

    assert [(t.ts, t.to_state) for t in transitions] == [
        (0.0, AlarmState.UNACK_ACTIVE),
        (5.0, AlarmState.UNACK_RTN),
    ]


def bad(ts, value=None):
    return Sample(TAG, ts, value, Quality.BAD, Reason.COMM_FAILURE)


def test_bad_quality_keeps_active_alarm(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})
    engine.process([Sample(TAG, 1.0, 95)])

    transitions = engine.process([bad(2.0), bad(3.0, 10), Sample(TAG, 4.0, None)])

    assert transitions == []
    assert state_of(engine, "PS1.pressure.high") == "unack_active"


def test_bad_quality_raises_nothing(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})

    transitions = engine.process([bad(1.0, 500)])

    assert transitions == []
    assert engine.active() == []


def test_bad_quality_keeps_on_delay_timer(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90, "on_delay_s": 3}]})

    transitions = engine.process(
        [Sample(TAG, 0.0, 95), bad(1.0), bad(2.0), Sample(TAG, 3.0, 95)]
    )

    assert [(t.ts, t.to_state) for t in transitions] == [(3.0, AlarmState.UNACK_ACTIVE)]


def test_uncertain_quality_is_evaluated(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})

    transitions = engine.process([Sample(TAG, 1.0, 95, Quality.UNCERTAIN)])

    assert [t.to_state for t in transitions] == [AlarmState.UNACK_ACTIVE]


@pytest.mark.parametrize("value", ["95", True, math.nan])
def test_limit_ignores_unusable_value(make_engine, value):
    engine = make_engine({"pressure": [{"type": "high", "limit": 0.5}]})

    raised = engine.process([Sample(TAG, 1.0, value)])
    engine.process([Sample(TAG, 2.0, 1.0)])
    while_active = engine.process([Sample(TAG, 3.0, value)])

    assert raised == []
    assert while_active == []
    assert state_of(engine, "PS1.pressure.high") == "unack_active"


def test_disabled_alarm_does_not_exist(make_engine):
    engine = make_engine(
        {"pressure": [{"type": "high", "limit": 90, "enabled": False}]}
    )

    transitions = engine.process([Sample(TAG, 1.0, 95)])

    assert transitions == []
    with pytest.raises(KeyError):
        engine.acknowledge("PS1.pressure.high", "amina")


def test_tags_without_rules_are_skipped(make_engine):
    engine = make_engine({"pressure": [{"type": "high", "limit": 90}]})

    transitions = engine.process(
        [Sample("PS1.flow", 1.0, 1e9), Sample("OTHER.tag", 1.0, 1e9)]
    )

    assert transitions == []
    assert engine.stats()["raised"] == 0
