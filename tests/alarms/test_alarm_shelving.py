"""Shelve, shelve expiry, out of service and suppression by design: every
transition of the hidden states, with an injected clock."""

import sqlite3

import pytest

from alarms import AlarmState
from vigie.model import ConnectionState, DeviceStatus, Quality, Sample

HIGH = {"pressure": [{"type": "high", "limit": 90, "priority": "high"}]}
ALARM = "PS1.pressure.high"


def journal_rows(path, alarm_id=ALARM):
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT ts, from_state, to_state, value, user, reason, shown FROM journal"
            " WHERE alarm_id = ? ORDER BY id",
            (alarm_id,),
        ).fetchall()


def shown(engine, include_hidden=False):
    return {a["id"]: a["status"] for a in engine.active(include_hidden)}


def test_shelve_hides_active_alarm(make_engine, clock, journal_path):
    engine = make_engine(HIGH)
    engine.process([Sample("PS1.pressure", 1000.0, 95)])
    clock.now = 1010.0

    transition = engine.shelve(ALARM, "amina", 600, "sensor under repair")

    assert transition.from_state is AlarmState.UNACK_ACTIVE
    assert transition.to_state is AlarmState.SHELVED
    assert transition.user == "amina"
    assert engine.active() == []
    hidden = engine.active(include_hidden=True)[0]
    assert hidden["status"] == "shelved"
    assert hidden["state"] == "unack_active"
    assert hidden["shelved_until"] == 1610.0
    assert hidden["shelved_by"] == "amina"
    assert hidden["shelve_reason"] == "sensor under repair"
    assert journal_rows(journal_path)[-1] == (
        1010.0,
        "unack_active",
        "shelved",
        95,
        "amina",
        "shelved for 600 s: sensor under repair",
        1,
    )


def test_shelved_alarm_tracks_condition_silently(make_engine, clock, journal_path):
    engine = make_engine(HIGH)
    engine.shelve(ALARM, "amina", 600, "known fault")

    raised = engine.process([Sample("PS1.pressure", 1001.0, 95)])

    assert raised == []
    assert engine.active() == []
    assert engine.active(include_hidden=True)[0]["state"] == "unack_active"
    assert engine.stats()["raised"] == 0
    assert journal_rows(journal_path)[-1] == (
        1001.0,
        "normal",
        "unack_active",
        95,
        None,
        "value 95 > limit 90",
        0,
    )


def test_shelve_expiry_shows_true_state(make_engine, clock, journal_path):
    engine = make_engine(HIGH)
    engine.shelve(ALARM, "amina", 600, "known fault")
    engine.process([Sample("PS1.pressure", 1001.0, 95)])

    before = engine.tick(1599.0)
    expired = engine.tick(1600.0)

    assert before == []
    assert [(t.from_state, t.to_state, t.ts, t.user) for t in expired] == [
        (AlarmState.SHELVED, AlarmState.UNACK_ACTIVE, 1600.0, None)
    ]
    assert expired[0].reason == "shelve expired"
    assert shown(engine) == {ALARM: "unack_active"}


def test_shelve_expiry_after_return_shows_normal(make_engine, clock):
    engine = make_engine(HIGH)
    engine.process([Sample("PS1.pressure", 1000.0, 95)])
    engine.acknowledge(ALARM, "amina")
    engine.shelve(ALARM, "amina", 60, "nuisance")
    engine.process([Sample("PS1.pressure", 1001.0, 50)])

    expired = engine.tick(1060.0)

    assert [(t.from_state, t.to_state) for t in expired] == [
        (AlarmState.SHELVED, AlarmState.NORMAL)
    ]
    assert engine.active() == []
    assert engine.active(include_hidden=True) == []


def test_unshelve_by_operator(make_engine, clock):
    engine = make_engine(HIGH)
    engine.process([Sample("PS1.pressure", 1000.0, 95)])
    engine.shelve(ALARM, "amina", 600, "nuisance")
    clock.now = 1100.0

    transition = engine.unshelve(ALARM, "omar")

    assert (transition.from_state, transition.to_state) == (
        AlarmState.SHELVED,
        AlarmState.UNACK_ACTIVE,
    )
    assert transition.ts == 1100.0
    assert transition.user == "omar"
    assert engine.tick(2000.0) == []


def test_shelve_again_sets_new_end(make_engine, clock):
    engine = make_engine(HIGH)
    engine.shelve(ALARM, "amina", 60, "nuisance")

    again = engine.shelve(ALARM, "amina", 600, "longer")

    assert (again.from_state, again.to_state) == (
        AlarmState.SHELVED,
        AlarmState.SHELVED,
    )
    assert engine.tick(1060.0) == []
    assert [t.to_state for t in engine.tick(1600.0)] == [AlarmState.NORMAL]


@pytest.mark.parametrize(
    ("duration_s", "reason", "message"),
    [
        (0, "x", "duration 0 s is not between 0 and the maximum of 28800 s"),
        (28801, "x", "duration 28801 s is not between 0 and the maximum"),
        (60, "  ", "a reason is required"),
    ],
)
def test_shelve_rejects_bad_request(make_engine, duration_s, reason, message):
    engine = make_engine(HIGH)

    with pytest.raises(ValueError, match=message):
        engine.shelve(ALARM, "amina", duration_s, reason)


def test_unknown_alarm_raises_key_error(make_engine):
    engine = make_engine(HIGH)

    with pytest.raises(KeyError):
        engine.shelve("PS1.nothing.high", "amina", 60, "x")
    with pytest.raises(KeyError):
        engine.unshelve("PS1.nothing.high", "amina")
    with pytest.raises(KeyError):
        engine.set_out_of_service("PS1.nothing.high", "amina", "x", True)


def test_unshelve_not_shelved_rejected(make_engine):
    engine = make_engine(HIGH)

    with pytest.raises(ValueError, match="it is not shelved"):
        engine.unshelve(ALARM, "amina")


def test_out_of_service_cycle(make_engine, clock, journal_path):
    engine = make_engine(HIGH)
    engine.process([Sample("PS1.pressure", 1000.0, 95)])

    removed = engine.set_out_of_service(ALARM, "tech", "transmitter replaced", True)
    while_out = engine.process([Sample("PS1.pressure", 1001.0, 50)])
    engine.process([Sample("PS1.pressure", 1002.0, 96)])
    clock.now = 1003.0
    returned = engine.set_out_of_service(ALARM, "tech", "calibrated", False)

    assert (removed.from_state, removed.to_state) == (
        AlarmState.UNACK_ACTIVE,
        AlarmState.OUT_OF_SERVICE,
    )
    assert while_out == []
    assert (returned.from_state, returned.to_state) == (
        AlarmState.OUT_OF_SERVICE,
        AlarmState.UNACK_ACTIVE,
    )
    rows = journal_rows(journal_path)
    assert [(r[1], r[2], r[6]) for r in rows] == [
        ("normal", "unack_active", 1),
        ("unack_active", "out_of_service", 1),
        ("unack_active", "unack_rtn", 0),
        ("unack_rtn", "unack_active", 0),
        ("out_of_service", "unack_active", 1),
    ]
    assert rows[-1][4:6] == ("tech", "returned to service: calibrated")


def test_out_of_service_rejections(make_engine):
    engine = make_engine(HIGH)
    engine.set_out_of_service(ALARM, "tech", "work", True)

    with pytest.raises(ValueError, match="already out of service"):
        engine.set_out_of_service(ALARM, "tech", "work", True)
    with pytest.raises(ValueError, match="it is out of service"):
        engine.shelve(ALARM, "tech", 60, "x")
    with pytest.raises(ValueError, match="a reason is required"):
        engine.set_out_of_service(ALARM, "tech", "", False)


def test_out_of_service_ends_shelve(make_engine):
    engine = make_engine(HIGH)
    engine.shelve(ALARM, "amina", 60, "nuisance")

    engine.set_out_of_service(ALARM, "tech", "work", True)

    assert engine.tick(5000.0) == []
    assert shown(engine, include_hidden=True) == {ALARM: "out_of_service"}


def test_hidden_alarm_cannot_be_acknowledged(make_engine):
    engine = make_engine(HIGH)
    engine.process([Sample("PS1.pressure", 1000.0, 95)])
    engine.shelve(ALARM, "amina", 60, "nuisance")

    assert engine.acknowledge(ALARM, "amina") is None


SUPPRESSED = {
    "pump_running": [],
    "outflow": [
        {
            "type": "low",
            "limit": 10,
            "priority": "medium",
            "suppressed_by": "not PS1.pump_running",
        }
    ],
}
LOW = "PS1.outflow.low"


def test_suppressed_by_design_while_pump_stopped(make_engine):
    engine = make_engine(SUPPRESSED)
    engine.process([Sample("PS1.pump_running", 1000.0, True)])

    stopped = engine.process(
        [Sample("PS1.pump_running", 1001.0, False), Sample("PS1.outflow", 1001.0, 0)]
    )
    started = engine.process([Sample("PS1.pump_running", 1010.0, True)])

    assert [(t.alarm_id, t.to_state) for t in stopped] == [(LOW, AlarmState.SUPPRESSED)]
    assert stopped[0].reason == "suppressed by design: not PS1.pump_running is true"
    assert [(t.from_state, t.to_state, t.ts) for t in started] == [
        (AlarmState.SUPPRESSED, AlarmState.UNACK_ACTIVE, 1010.0)
    ]


def test_suppression_unknown_input_changes_nothing(make_engine):
    engine = make_engine(SUPPRESSED)
    engine.process([Sample("PS1.pump_running", 1000.0, False)])

    bad = engine.process(
        [Sample("PS1.pump_running", 1001.0, None, Quality.BAD, "comm_failure")]
    )

    assert bad == []
    assert shown(engine, include_hidden=True) == {LOW: "suppressed"}


def test_comm_loss_suppresses_stale_alarms(make_engine):
    engine = make_engine(
        {"pressure": [{"type": "stale", "after_polls": 5}]}, poll_interval_s=2.0
    )
    device = DeviceStatus(name="PS1", protocol="modbus_tcp")
    device.state = ConnectionState.DISCONNECTED

    lost = engine.on_device_state(device, 1001.0)
    stale = engine.tick(1010.0)
    device.state = ConnectionState.CONNECTED
    back = engine.on_device_state(device, 1020.0)

    assert [(t.alarm_id, t.to_state) for t in lost] == [
        ("PS1.comm_loss", AlarmState.UNACK_ACTIVE),
        ("PS1.pressure.stale", AlarmState.SUPPRESSED),
    ]
    assert stale == []
    assert [(t.alarm_id, t.to_state) for t in back] == [
        ("PS1.comm_loss", AlarmState.UNACK_RTN),
        ("PS1.pressure.stale", AlarmState.UNACK_ACTIVE),
    ]


def test_hidden_states_survive_restart(make_engine, clock):
    first = make_engine({**HIGH, **SUPPRESSED})
    first.shelve(ALARM, "amina", 600, "nuisance")
    first.process([Sample("PS1.pump_running", 1000.0, False)])
    first.set_out_of_service(LOW, "tech", "work", True)
    first.close()

    second = make_engine({**HIGH, **SUPPRESSED})

    assert shown(second, include_hidden=True) == {
        ALARM: "shelved",
        LOW: "out_of_service",
    }
    assert [t.to_state for t in second.tick(1600.0)] == [AlarmState.NORMAL]
