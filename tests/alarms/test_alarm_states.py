"""ISA-18.2 state table, alone and driven through the engine."""

import pytest

from alarms.states import AlarmState, next_on_acknowledge, next_on_condition
from vigie.model import Sample

NORMAL = AlarmState.NORMAL
UNACK_ACTIVE = AlarmState.UNACK_ACTIVE
ACK_ACTIVE = AlarmState.ACK_ACTIVE
UNACK_RTN = AlarmState.UNACK_RTN

HIGH_90 = {"pressure": [{"type": "high", "limit": 90}]}


@pytest.mark.parametrize(
    ("state", "condition", "expected"),
    [
        (NORMAL, True, UNACK_ACTIVE),
        (NORMAL, False, None),
        (UNACK_ACTIVE, True, None),
        (UNACK_ACTIVE, False, UNACK_RTN),
        (ACK_ACTIVE, True, None),
        (ACK_ACTIVE, False, NORMAL),
        (UNACK_RTN, True, UNACK_ACTIVE),
        (UNACK_RTN, False, None),
    ],
)
def test_condition_table(state, condition, expected):
    assert next_on_condition(state, condition) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (NORMAL, None),
        (UNACK_ACTIVE, ACK_ACTIVE),
        (ACK_ACTIVE, None),
        (UNACK_RTN, NORMAL),
    ],
)
def test_acknowledge_table(state, expected):
    assert next_on_acknowledge(state) == expected


def test_state_values_are_contract_names():
    assert [state.value for state in AlarmState] == [
        "normal",
        "unack_active",
        "ack_active",
        "unack_rtn",
        "shelved",
        "suppressed",
        "out_of_service",
    ]


def moves(transitions):
    return [(t.from_state, t.to_state) for t in transitions]


def test_engine_walks_every_transition(make_engine, clock):
    engine = make_engine(HIGH_90)
    alarm_id = "PS1.pressure.high"

    raised = engine.process([Sample("PS1.pressure", 1.0, 95)])
    assert moves(raised) == [(NORMAL, UNACK_ACTIVE)]

    returned = engine.process([Sample("PS1.pressure", 2.0, 80)])
    assert moves(returned) == [(UNACK_ACTIVE, UNACK_RTN)]

    raised_again = engine.process([Sample("PS1.pressure", 3.0, 96)])
    assert moves(raised_again) == [(UNACK_RTN, UNACK_ACTIVE)]

    acked = engine.acknowledge(alarm_id, "amina")
    assert (acked.from_state, acked.to_state) == (UNACK_ACTIVE, ACK_ACTIVE)

    cleared = engine.process([Sample("PS1.pressure", 4.0, 80)])
    assert moves(cleared) == [(ACK_ACTIVE, NORMAL)]

    engine.process([Sample("PS1.pressure", 5.0, 97)])
    engine.process([Sample("PS1.pressure", 6.0, 70)])
    acked_rtn = engine.acknowledge(alarm_id, "amina")
    assert (acked_rtn.from_state, acked_rtn.to_state) == (UNACK_RTN, NORMAL)
    assert engine.active() == []


def test_repeated_condition_makes_no_transition(make_engine):
    engine = make_engine(HIGH_90)

    first = engine.process([Sample("PS1.pressure", 1.0, 95)])
    again = engine.process([Sample("PS1.pressure", 2.0, 99)])

    assert len(first) == 1
    assert again == []
