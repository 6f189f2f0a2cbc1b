import math

import pytest

from dashboard import ids
from dashboard.formatting import (
    activation_time,
    format_age,
    format_clock,
    format_quality,
    format_time,
    format_value,
    is_stale,
    sort_alarms,
)

# 2024-12-04 13:46:40 UTC. Casablanca is at UTC+1 outside Ramadan.
TS = 1733320000.0


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (4.2123, "bar", "4.21 bar"),
        (230.14, "V", "230.1 V"),
        (0.35, "mg/L", "0.350 mg/L"),
        (-12.345, "kW", "-12.35 kW"),
        (123456, "kWh", "123456 kWh"),
        (True, "", "ON"),
        (False, "", "OFF"),
        (None, "bar", "—"),
        ("RTU-7", "", "RTU-7"),
        (math.nan, "bar", "NaN bar"),
        (7, "", "7"),
    ],
)
def test_format_value_cases(value, unit, expected):
    assert format_value(value, unit) == expected


def test_format_quality_with_reason():
    assert format_quality("good") == "good"
    assert format_quality("bad", "comm_failure") == "bad: comm_failure"
    assert format_quality("uncertain", "stale") == "uncertain: stale"


@pytest.mark.parametrize(
    ("age_s", "expected"),
    [(0.5, "0.5 s"), (45.2, "45 s"), (600, "10 min"), (10800, "3 h"), (None, "—")],
)
def test_format_age_units(age_s, expected):
    assert format_age(age_s) == expected


def test_times_in_site_zone():
    assert format_time(TS, "Africa/Casablanca") == "2024-12-04 14:46:40"
    assert format_time(TS, "UTC") == "2024-12-04 13:46:40"
    assert format_time(None, "UTC") == "—"
    assert format_clock(TS, "Africa/Casablanca") == "2024-12-04 14:46:40 +01"


def test_stale_when_flagged_or_bad():
    assert is_stale({"quality": "good", "stale": False}) is False
    assert is_stale({"quality": "good", "stale": True}) is True
    assert is_stale({"quality": "bad", "stale": False}) is True
    assert is_stale({"quality": "uncertain", "stale": False}) is False


def test_alarms_sorted_by_priority_then_age():
    alarms = [
        {"id": "a", "priority": "low", "since": 1.0, "state": "unack_active"},
        {"id": "b", "priority": "critical", "since": 5.0, "state": "ack_active"},
        {"id": "c", "priority": "high", "since": 3.0, "state": "unack_rtn"},
        {"id": "d", "priority": "critical", "since": 2.0, "state": "unack_active"},
        {"id": "e", "priority": "high", "since": 1.0, "state": "normal"},
    ]
    assert [alarm["id"] for alarm in sort_alarms(alarms)] == ["d", "b", "c", "a"]


def test_returned_alarm_sorted_by_activation():
    alarms = [
        {"id": "a", "priority": "high", "since": 9.0, "state": "ack_active"},
        {
            "id": "b",
            "priority": "high",
            "since": 10.0,
            "active_since": 4.0,
            "state": "unack_rtn",
        },
    ]
    assert [alarm["id"] for alarm in sort_alarms(alarms)] == ["b", "a"]


@pytest.mark.parametrize(
    ("alarm", "expected"),
    [
        ({"state": "unack_rtn", "since": 10.0, "active_since": 4.0}, 4.0),
        ({"state": "ack_active", "since": 10.0, "active_since": 10.0}, 10.0),
        ({"state": "normal", "since": 10.0, "active_since": 4.0}, 10.0),
        ({"state": "unack_rtn", "since": 10.0, "active_since": None}, 10.0),
    ],
)
def test_activation_time_of_alarm(alarm, expected):
    assert activation_time(alarm) == expected


def test_ids_replace_dots():
    assert ids.tag_cell("value", "PS1.discharge_pressure") == (
        "value:PS1:discharge_pressure"
    )
    assert ids.alarm_cell("state", "PS1.comm_loss") == "alarm-state:PS1:comm_loss"
    assert ids.ack_button("PS1.comm_loss") == {"type": "ack", "alarm": "PS1.comm_loss"}
    with pytest.raises(ValueError, match="invalid tag field 'colour'"):
        ids.tag_cell("colour", "PS1.x")
