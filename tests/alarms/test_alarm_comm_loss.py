"""Communication-loss alarms driven by device connection states."""

import pytest

from alarms import AlarmState
from vigie.model import ConnectionState, DeviceStatus


def test_comm_loss_follows_device_state(make_engine):
    engine = make_engine({})
    status = DeviceStatus(name="PS2", protocol="modbus_tcp")
    recorded = []
    status.listeners.append(
        lambda device, now: recorded.extend(engine.on_device_state(device, now))
    )

    status.set_state(ConnectionState.CONNECTED, 10.0)
    status.set_state(ConnectionState.DISCONNECTED, 20.0, "timed out after 2 s")
    status.set_state(ConnectionState.CONNECTED, 30.0)

    assert [(t.ts, t.from_state, t.to_state) for t in recorded] == [
        (20.0, AlarmState.NORMAL, AlarmState.UNACK_ACTIVE),
        (30.0, AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN),
    ]
    assert recorded[0].alarm_id == "PS2.comm_loss"
    assert recorded[0].priority == "critical"
    assert recorded[0].reason == "communication lost: timed out after 2 s"
    assert recorded[0].user is None
    assert recorded[1].reason == "communication restored"


def test_comm_loss_priority_from_device(make_engine):
    engine = make_engine({})
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")
    status.state = ConnectionState.DISCONNECTED

    transitions = engine.on_device_state(status, 5.0)

    assert [t.priority for t in transitions] == ["high"]
    assert engine.active() == [
        {
            "id": "PS1.comm_loss",
            "tag": None,
            "type": "comm_loss",
            "priority": "high",
            "area": "PS1",
            "state": "unack_active",
            "status": "unack_active",
            "value": None,
            "limit": None,
            "message": "Communication lost with PS1",
            "since": 5.0,
            "active_since": 5.0,
            "acked_by": None,
            "acked_ts": None,
            "stale": False,
            "shelved_until": None,
            "shelved_by": None,
            "shelve_reason": "",
            "out_of_service": False,
            "out_of_service_by": None,
            "out_of_service_reason": "",
            "suppressed": False,
        }
    ]


def test_starting_and_stopped_raise_nothing(make_engine):
    engine = make_engine({})
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")

    starting = engine.on_device_state(status, 1.0)
    status.state = ConnectionState.STOPPED
    stopped = engine.on_device_state(status, 2.0)

    assert starting == []
    assert stopped == []
    assert engine.active() == []


def test_repeated_disconnect_raises_once(make_engine):
    engine = make_engine({})
    status = DeviceStatus(name="PS1", protocol="modbus_tcp")
    status.state = ConnectionState.DISCONNECTED

    first = engine.on_device_state(status, 1.0)
    second = engine.on_device_state(status, 2.0)

    assert len(first) == 1
    assert second == []


def test_unknown_device_is_ignored(make_engine):
    engine = make_engine({})
    status = DeviceStatus(name="NOPE", protocol="modbus_tcp")
    status.state = ConnectionState.DISCONNECTED

    assert engine.on_device_state(status, 1.0) == []
    assert engine.active() == []


def test_system_alarm_raised_and_cleared(make_engine):
    engine = make_engine({})

    raised = engine.set_system_condition(
        "historian.unreachable", True, 100.0, "connection refused"
    )
    repeated = engine.set_system_condition(
        "historian.unreachable", True, 101.0, "connection refused"
    )
    cleared = engine.set_system_condition(
        "historian.unreachable", False, 130.0, "reachable again"
    )

    assert [(t.from_state, t.to_state) for t in raised] == [("normal", "unack_active")]
    assert repeated == []
    assert [(t.from_state, t.to_state) for t in cleared] == [
        ("unack_active", "unack_rtn")
    ]
    assert raised[0].priority == "high"
    assert raised[0].reason == "connection refused"


def test_system_alarm_unknown_id(make_engine):
    engine = make_engine({})

    with pytest.raises(KeyError):
        engine.set_system_condition("PS1.comm_loss", True, 1.0, "not a system alarm")
