"""Discrete alarms: active while the tag equals the configured value."""

from alarms import AlarmState
from vigie.model import Quality, Sample

TAG = "PS1.pump_fault"


def test_discrete_active_while_equal(make_engine):
    engine = make_engine(
        {"pump_fault": [{"type": "discrete", "value": True, "priority": "high",
                         "message": "Pump 1 tripped"}]}
    )

    transitions = engine.process(
        [
            Sample(TAG, 1.0, False),
            Sample(TAG, 2.0, True),
            Sample(TAG, 3.0, True),
            Sample(TAG, 4.0, False),
        ]
    )

    assert [(t.ts, t.to_state) for t in transitions] == [
        (2.0, AlarmState.UNACK_ACTIVE),
        (4.0, AlarmState.UNACK_RTN),
    ]
    assert transitions[0].alarm_id == "PS1.pump_fault.discrete"
    assert transitions[0].message == "Pump 1 tripped"
    assert transitions[0].priority == "high"
    assert transitions[0].value is True


def test_discrete_on_integer_state(make_engine):
    engine = make_engine({"pump_fault": [{"type": "discrete", "value": 3}]})

    transitions = engine.process(
        [Sample(TAG, 1.0, 2), Sample(TAG, 2.0, 3), Sample(TAG, 3.0, 4)]
    )

    assert [(t.ts, t.to_state) for t in transitions] == [
        (2.0, AlarmState.UNACK_ACTIVE),
        (3.0, AlarmState.UNACK_RTN),
    ]
    assert transitions[0].message == "PS1.pump_fault is 3"


def test_discrete_on_delay(make_engine):
    engine = make_engine(
        {"pump_fault": [{"type": "discrete", "value": True, "on_delay_s": 2}]}
    )

    transitions = engine.process(
        [Sample(TAG, float(ts), value) for ts, value in
         enumerate([True, True, False, True, True, True])]
    )

    assert [(t.ts, t.to_state) for t in transitions] == [
        (5.0, AlarmState.UNACK_ACTIVE)
    ]


def test_discrete_bad_quality_keeps_state(make_engine):
    engine = make_engine({"pump_fault": [{"type": "discrete", "value": True}]})
    engine.process([Sample(TAG, 1.0, True)])

    transitions = engine.process(
        [Sample(TAG, 2.0, False, Quality.BAD), Sample(TAG, 3.0, None)]
    )

    assert transitions == []
    assert [a["state"] for a in engine.active()] == ["unack_active"]
