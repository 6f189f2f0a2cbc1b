"""Monotonic counter tags: decreases and jumps become quality events, not good data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collectors.modbus.counters import CounterCheck
from collectors.modbus.decode import Decoded, decode_registers
from vigie.config import ModbusTag
from vigie.model import Quality


def counter_tag(**fields) -> ModbusTag:
    settings = {
        "name": "energy",
        "address": 0,
        "type": "uint32",
        "byte_order": "CDAB",
        "counter": True,
        **fields,
    }
    return ModbusTag.model_validate(settings)


def run_counter(tag: ModbusTag, values: list) -> list[tuple]:
    check = CounterCheck()
    results = []
    for value in values:
        decoded = check.check("M1.energy", tag, Decoded(value))
        results.append((decoded.value, decoded.quality, decoded.reason))
    return results


GOOD = (Quality.GOOD, "")
FLAGGED = (Quality.UNCERTAIN, "out_of_range")


def test_rising_counter_stays_good():
    results = run_counter(counter_tag(), [19150, 19150, 19151, 40000])

    assert results == [(v, *GOOD) for v in [19150, 19150, 19151, 40000]]


def test_decrease_is_flagged_then_glitch_forgotten():
    results = run_counter(counter_tag(), [19150, 177, 19151])

    assert results[0] == (19150, *GOOD)
    assert results[1] == (177, *FLAGGED)
    assert results[2] == (19151, *GOOD)


def test_reset_confirmed_by_next_value():
    results = run_counter(counter_tag(), [19150, 3, 5, 7])

    assert results[1] == (3, *FLAGGED)
    assert results[2] == (5, *GOOD)
    assert results[3] == (7, *GOOD)


def test_word_order_jump_is_flagged():
    """A counter read high word first jumps 65536 times: 19150 to 1,255,014,400."""
    tag = counter_tag(max_counter_jump=1000)

    results = run_counter(tag, [19150, 19150 * 65536, 19151])

    assert results[1] == (1255014400, *FLAGGED)
    assert results[2] == (19151, *GOOD)


def test_jump_within_factor_is_good():
    results = run_counter(counter_tag(max_counter_jump=1000), [177, 177000])

    assert results[1] == (177000, *GOOD)


def test_without_factor_any_rise_is_good():
    results = run_counter(counter_tag(), [177, 177 * 65536])

    assert results[1] == (177 * 65536, *GOOD)


def test_bad_samples_pass_and_keep_state():
    check = CounterCheck()
    tag = counter_tag()
    bad = Decoded(None, Quality.BAD, "bad_frame")

    check.check("M1.energy", tag, Decoded(500))
    passed = check.check("M1.energy", tag, bad)
    after = check.check("M1.energy", tag, Decoded(400))

    assert passed is bad
    assert (after.value, after.quality) == (400, Quality.UNCERTAIN)


def test_counters_keep_state_per_tag():
    check = CounterCheck()
    tag = counter_tag()

    check.check("M1.a", tag, Decoded(1000))
    other = check.check("M1.b", tag, Decoded(10))

    assert other.quality is Quality.GOOD


def test_plain_tag_is_not_checked():
    tag = counter_tag(counter=False)

    results = run_counter(tag, [100, 1])

    assert results[1] == (1, *GOOD)


def test_counter_decoded_from_low_word_first():
    tag = counter_tag(max_counter_jump=1000)
    check = CounterCheck()
    readings = [[0x4ACE, 0], [0x4ACF, 0], [0, 0x4ACE], [0x9C40, 0]]

    results = [
        check.check("M1.energy", tag, decode_registers(tag, words))
        for words in readings
    ]

    assert [r.value for r in results] == [19150, 19151, 1255014400, 40000]
    assert [r.quality for r in results] == [
        Quality.GOOD,
        Quality.GOOD,
        Quality.UNCERTAIN,
        Quality.GOOD,
    ]


def test_counter_needs_numeric_type():
    with pytest.raises(ValidationError, match="counter: a counter must be a numeric"):
        counter_tag(type="string", count=2)


def test_jump_factor_needs_counter():
    with pytest.raises(ValidationError, match="max_counter_jump: applies only"):
        counter_tag(counter=False, max_counter_jump=10)


def test_jump_factor_above_one():
    with pytest.raises(ValidationError, match="greater than 1"):
        counter_tag(max_counter_jump=0.5)
