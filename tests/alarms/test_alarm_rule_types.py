"""Rate of change, deviation from a setpoint, bad quality and expressions over
several tags, with the configuration errors of each."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from alarms import AlarmState
from alarms.expressions import ExpressionError, parse_expression
from alarm_config import make_config
from vigie.model import Quality, Sample

REPO = Path(__file__).resolve().parents[2]


def ids_and_times(transitions):
    return [(t.alarm_id, t.ts, t.to_state) for t in transitions]


def test_rate_of_change_per_minute(make_engine):
    engine = make_engine(
        {
            "level": [
                {
                    "type": "rate_of_change",
                    "limit": 0.5,
                    "per": "minute",
                    "window_s": 60,
                    "direction": "falling",
                }
            ]
        }
    )
    # Falls 0.2 m a minute, then 1.2 m a minute, then rises fast. At t=80 the
    # window from t=20 holds a fall of 0.533 m in 60 s.
    slow = engine.process(
        [Sample("PS1.level", t * 10.0, 5 - t * 0.2 / 6) for t in range(7)]
    )
    fast = engine.process(
        [Sample("PS1.level", 60 + t * 10.0, 4.8 - t * 0.2) for t in range(1, 7)]
    )
    rising = engine.process(
        [Sample("PS1.level", 120 + t * 10.0, 3.6 + t) for t in range(1, 7)]
    )

    assert slow == []
    assert ids_and_times(fast) == [
        ("PS1.level.rate_of_change", 80.0, AlarmState.UNACK_ACTIVE)
    ]
    assert [t.to_state for t in rising] == [AlarmState.UNACK_RTN]


def test_rate_of_change_both_directions_per_second(make_engine):
    engine = make_engine(
        {
            "level": [
                {"type": "rate_of_change", "limit": 2, "per": "second", "window_s": 5}
            ]
        }
    )

    found = engine.process([Sample("PS1.level", 0.0, 10), Sample("PS1.level", 1.0, 7)])

    assert ids_and_times(found) == [
        ("PS1.level.rate_of_change", 1.0, AlarmState.UNACK_ACTIVE)
    ]
    assert found[0].reason == "rate of change > 2/s (both)"


def test_deviation_from_setpoint(make_engine):
    engine = make_engine(
        {
            "setpoint": [],
            "pressure": [
                {
                    "type": "deviation",
                    "setpoint": "PS1.setpoint",
                    "limit": 0.5,
                    "deadband": 0.1,
                }
            ],
        }
    )
    engine.process([Sample("PS1.setpoint", 0.0, 4.0), Sample("PS1.pressure", 0.0, 4.2)])

    raised = engine.process([Sample("PS1.setpoint", 1.0, 3.5)])
    held = engine.process([Sample("PS1.pressure", 2.0, 3.95)])
    cleared = engine.process([Sample("PS1.pressure", 3.0, 3.85)])

    assert ids_and_times(raised) == [
        ("PS1.pressure.deviation", 1.0, AlarmState.UNACK_ACTIVE)
    ]
    assert raised[0].value == 4.2
    assert held == []
    assert ids_and_times(cleared) == [
        ("PS1.pressure.deviation", 3.0, AlarmState.UNACK_RTN)
    ]


def test_bad_quality_after_seconds(make_engine):
    engine = make_engine({"pressure": [{"type": "bad_quality", "after_s": 10}]})
    bad = [
        Sample("PS1.pressure", float(t), None, Quality.BAD, "sensor_failure")
        for t in range(0, 10, 2)
    ]

    early = engine.process(bad)
    due = engine.tick(10.0)
    good = engine.process([Sample("PS1.pressure", 12.0, 4.0)])

    assert early == []
    assert ids_and_times(due) == [
        ("PS1.pressure.bad_quality", 10.0, AlarmState.UNACK_ACTIVE)
    ]
    assert ids_and_times(good) == [
        ("PS1.pressure.bad_quality", 12.0, AlarmState.UNACK_RTN)
    ]


EXPRESSION_RULE = {
    "type": "expression",
    "name": "PS1.dry_run",
    "expression": "PS1.pump_running and PS1.flow < 5 * 2 and abs(PS1.pressure) < 1",
    "priority": "high",
    "on_delay_s": 5,
}


def expression_engine(make_engine):
    return make_engine(
        {"pump_running": [], "pressure": []}, site_alarms={"rules": [EXPRESSION_RULE]}
    )


def test_expression_rule_with_on_delay(make_engine):
    engine = expression_engine(make_engine)

    first = engine.process(
        [
            Sample("PS1.pump_running", 0.0, True),
            Sample("PS1.flow", 0.0, 3),
            Sample("PS1.pressure", 0.0, -0.5),
        ]
    )
    due = engine.process([Sample("PS1.flow", 5.0, 4)])
    stopped = engine.process([Sample("PS1.pump_running", 6.0, False)])

    assert first == []
    assert ids_and_times(due) == [("PS1.dry_run", 5.0, AlarmState.UNACK_ACTIVE)]
    assert due[0].priority == "high"
    assert due[0].area == "site"
    assert ids_and_times(stopped) == [("PS1.dry_run", 6.0, AlarmState.UNACK_RTN)]


def test_expression_unknown_input_changes_nothing(make_engine):
    engine = expression_engine(make_engine)

    found = engine.process(
        [
            Sample("PS1.pump_running", 0.0, True),
            Sample("PS1.flow", 0.0, None, Quality.BAD, "comm_failure"),
            Sample("PS1.pressure", 0.0, 0),
        ]
    )

    assert found == []


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("PS1.a + PS1.b * 2", {"PS1.a": 1, "PS1.b": 3}, 7),
        ("max(PS1.a, PS1.b, 10) - min(PS1.a, 0)", {"PS1.a": -4, "PS1.b": 3}, 14),
        ("PS1.a / PS1.b", {"PS1.a": 1, "PS1.b": 0}, None),
        ("PS1.a > 1 or PS1.b > 1", {"PS1.a": None, "PS1.b": 2}, True),
        ("PS1.a > 1 and PS1.b > 1", {"PS1.a": None, "PS1.b": 0}, False),
        ("PS1.a > 1 and PS1.b > 1", {"PS1.a": None, "PS1.b": 2}, None),
        ("1 < PS1.a <= 3", {"PS1.a": 3}, True),
        ('tag("TT-9.temp") > 70', {"TT-9.temp": 71}, True),
        ("not PS1.a", {"PS1.a": "text"}, None),
    ],
)
def test_expression_values(text, values, expected):
    assert parse_expression(text)(values) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "__import__('os').system('x')",
            "function \"__import__('os').system\" is not allowed",
        ),
        ("PS1.a ** 2", "token 'PS1.a ** 2' is not allowed"),
        ("PS1.a in (1, 2)", "comparison 'PS1.a in (1, 2)' is not allowed"),
        ("PS1.a > 'x'", "constant \"'x'\" is not allowed"),
        ("pressure > 1", "unknown name 'pressure'"),
        ("PS1.a >", "syntax error at column"),
        ("PS1.a[0] > 1", "token 'PS1.a[0]' is not allowed"),
        ("lambda: 1", "token 'lambda: 1' is not allowed"),
    ],
)
def test_expression_rejects_token(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse_expression(text)


def test_config_rejects_bad_expression():
    rule = dict(EXPRESSION_RULE, expression="PS1.flow ** 2 > 1")

    with pytest.raises(ValidationError, match="token 'PS1.flow \\*\\* 2'"):
        make_config({}, site_alarms={"rules": [rule]})


def test_config_rejects_key_of_other_type():
    with pytest.raises(ValidationError, match="'window_s' does not apply to a high"):
        make_config({"level": [{"type": "high", "limit": 1, "window_s": 5}]})


def test_cli_names_bad_expression_token(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["alarms"] = {"rules": [dict(EXPRESSION_RULE, expression="PS1.x @ 2")]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    result = subprocess.run(
        [sys.executable, "-m", "vigie.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(f"vigie: invalid configuration: {path}:")
    assert "alarms.rules[0].expression: token 'PS1.x @ 2' is not allowed" in (
        result.stderr
    )


def test_reference_check_names_key_path():
    from pydantic import ValidationError

    rule = dict(EXPRESSION_RULE, expression="PS1.flow > 1 and PS1.nothing < 2")

    with pytest.raises(ValidationError) as caught:
        make_config({}, site_alarms={"rules": [rule]})

    assert (
        "alarms.rules[0].expression: unknown tag 'PS1.nothing'; use a full tag name"
        " <device>.<tag> declared under devices"
    ) in str(caught.value)
