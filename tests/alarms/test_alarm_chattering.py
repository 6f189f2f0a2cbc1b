"""A value chattering around a limit, stale data that must not look normal, and a
delay of 0 meaning at once: exact events with deadband, delays and ticks."""

import pytest

from alarms import AlarmState
from vigie.model import Sample

TAG = "PS1.temperature"
HIGH = "PS1.temperature.high"

CHATTER = [69.9, 70.1, 69.9, 70.1, 69.8, 70.2, 68.5, 67.9]
HOLD_THEN_DROP = [71, 71, 71, 71, 69, 67.5]
DIP_THEN_HOLD = [71, 71, 69.5, 71, 71, 71, 71]


def events(engine, values, step=10.0, tick=False):
    """Feed one sample per ``step`` seconds from t=0; return (t, event) pairs.

    With ``tick``, the engine also ticks every second between samples, as the
    runtime does.
    """
    found = []
    for index, value in enumerate(values):
        ts = index * step
        if tick:
            for second in range(int(ts - step) + 1, int(ts)):
                found += engine.tick(float(second))
        found += engine.process([Sample(TAG, ts, value)])
    names = {AlarmState.UNACK_ACTIVE: "ACTIVE", AlarmState.UNACK_RTN: "CLEAR"}
    return [(t.ts, names[t.to_state]) for t in found if t.alarm_id == HIGH]


def high(**options):
    return {"temperature": [{"type": "high", "limit": 70.0, **options}]}


@pytest.mark.parametrize("tick", [False, True])
def test_chatter_without_deadband_six_events(make_engine, tick):
    engine = make_engine(high())

    assert events(engine, CHATTER, tick=tick) == [
        (10.0, "ACTIVE"),
        (20.0, "CLEAR"),
        (30.0, "ACTIVE"),
        (40.0, "CLEAR"),
        (50.0, "ACTIVE"),
        (60.0, "CLEAR"),
    ]


@pytest.mark.parametrize("tick", [False, True])
def test_chatter_with_deadband_two_events(make_engine, tick):
    engine = make_engine(high(deadband=2.0))

    assert events(engine, CHATTER, tick=tick) == [(10.0, "ACTIVE"), (70.0, "CLEAR")]


@pytest.mark.parametrize("tick", [False, True])
def test_chatter_deadband_and_on_delay_no_event(make_engine, tick):
    engine = make_engine(high(deadband=2.0, on_delay_s=30))

    assert events(engine, CHATTER, tick=tick) == []


@pytest.mark.parametrize("tick", [False, True])
def test_on_delay_counts_from_condition_start(make_engine, tick):
    engine = make_engine(high(deadband=2.0, on_delay_s=30))

    assert events(engine, HOLD_THEN_DROP, tick=tick) == [
        (30.0, "ACTIVE"),
        (50.0, "CLEAR"),
    ]


@pytest.mark.parametrize("tick", [False, True])
def test_dip_restarts_on_delay(make_engine, tick):
    engine = make_engine(high(deadband=2.0, on_delay_s=30))

    assert events(engine, DIP_THEN_HOLD, tick=tick) == [(60.0, "ACTIVE")]


def test_on_delay_completes_on_tick_without_samples(make_engine):
    engine = make_engine(high(on_delay_s=30))
    engine.process([Sample(TAG, 0.0, 75)])

    early = engine.tick(29.0)
    due = engine.tick(31.0)

    assert early == []
    assert [(t.ts, t.to_state, t.value) for t in due] == [
        (30.0, AlarmState.UNACK_ACTIVE, 75)
    ]


def test_off_delay_completes_on_tick(make_engine):
    engine = make_engine(high(off_delay_s=20))
    engine.process([Sample(TAG, 0.0, 75), Sample(TAG, 5.0, 60)])

    early = engine.tick(24.0)
    due = engine.tick(25.0)

    assert early == []
    assert [(t.ts, t.to_state) for t in due] == [(25.0, AlarmState.UNACK_RTN)]


DELAY_SERIES = [95, 95, 95, 89, 95, 95, 95, 95, 95, 95]


def test_delay_zero_fires_at_once(make_engine):
    engine = make_engine({"temperature": [{"type": "high", "limit": 90}]})

    found = engine.process(
        [Sample(TAG, float(t), v) for t, v in enumerate(DELAY_SERIES)]
    )

    assert [(t.ts, t.to_state) for t in found][:1] == [(0.0, AlarmState.UNACK_ACTIVE)]


def test_delay_five_restarts_after_dip(make_engine):
    engine = make_engine(
        {"temperature": [{"type": "high", "limit": 90, "on_delay_s": 5}]}
    )

    found = engine.process(
        [Sample(TAG, float(t), v) for t, v in enumerate(DELAY_SERIES)]
    )

    assert [(t.ts, t.to_state) for t in found] == [(9.0, AlarmState.UNACK_ACTIVE)]


TT9 = {
    "TT-9": [
        {"type": "high", "limit": 70, "deadband": 2},
        {"type": "stale", "after_polls": 6},
    ]
}


def test_stale_data_does_not_look_normal(make_engine):
    """A transmitter reads 75 at t=0, then sends nothing until 65 arrives at t=300;
    its device polls every 10 s and the stale timeout is 6 polls (60 s)."""
    engine = make_engine(TT9, poll_interval_s=10.0)
    found = engine.process([Sample("PS1.TT-9", 0.0, 75)])
    shown_while_stale = []
    for second in range(1, 300):
        found += engine.tick(float(second))
        if second == 120:
            shown_while_stale = engine.active()
    found += engine.process([Sample("PS1.TT-9", 300.0, 65)])
    found += engine.tick(300.0)

    assert [(t.ts, t.alarm_id, t.to_state.value) for t in found] == [
        (0.0, "PS1.TT-9.high", "unack_active"),
        (60.0, "PS1.TT-9.stale", "unack_active"),
        (300.0, "PS1.TT-9.stale", "unack_rtn"),
        (300.0, "PS1.TT-9.high", "unack_rtn"),
    ]
    by_id = {a["id"]: a for a in shown_while_stale}
    assert by_id["PS1.TT-9.high"]["state"] == "unack_active"
    assert by_id["PS1.TT-9.high"]["stale"] is True
    assert by_id["PS1.TT-9.stale"]["state"] == "unack_active"


def test_stale_timer_starts_at_engine_start(make_engine, clock):
    engine = make_engine(TT9, poll_interval_s=10.0)

    early = engine.tick(clock.now + 59.0)
    late = engine.tick(clock.now + 60.0)

    assert early == []
    assert [(t.alarm_id, t.ts) for t in late] == [("PS1.TT-9.stale", clock.now + 60.0)]
