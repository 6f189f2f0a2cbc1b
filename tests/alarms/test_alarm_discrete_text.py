"""Discrete alarms that match a text, on an OPC UA tag declared as string."""

from alarms import AlarmEngine
from vigie.config import Config
from vigie.model import Sample


def test_text_discrete_alarm_follows_state(tmp_path):
    config = Config.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "devices": [
                {
                    "name": "WTP1",
                    "protocol": "opcua",
                    "endpoint": "opc.tcp://127.0.0.1:14840",
                    "tags": [
                        {
                            "name": "valve_state",
                            "node": "ns=2;s=Valve/State",
                            "type": "string",
                            "alarms": [
                                {"type": "discrete", "value": "fault", "priority": "high"}
                            ],
                        }
                    ],
                }
            ],
        }
    )
    engine = AlarmEngine(config, tmp_path / "data" / "alarms.sqlite")
    try:
        opened = engine.process([Sample("WTP1.valve_state", 1.0, "open")])
        faulted = engine.process([Sample("WTP1.valve_state", 2.0, "fault")])
        active = engine.active()
        cleared = engine.process([Sample("WTP1.valve_state", 3.0, "closed")])
    finally:
        engine.close()

    assert opened == []
    assert [(t.alarm_id, t.to_state.value) for t in faulted] == [
        ("WTP1.valve_state.discrete", "unack_active")
    ]
    assert active[0]["value"] == "fault"
    assert [t.to_state.value for t in cleared] == ["unack_rtn"]
