"""Encoding for writes is the exact inverse of decoding, and rejects what cannot fit."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.modbus.datatypes import integer_range
from collectors.modbus.decode import decode_number, decode_registers, unpack_bits
from collectors.modbus.encode import (
    encode_number,
    encode_string,
    encode_value,
    set_bit,
)
from vigie.config import ModbusTag

ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]
INTEGER_TYPES = ["int16", "uint16", "int32", "uint32", "int64", "uint64"]


def tag(**fields) -> ModbusTag:
    return ModbusTag.model_validate({"name": "t", "address": 0, **fields})


def test_negative_int16_is_twos_complement():
    assert encode_number(-20, "int16", "ABCD") == [0xFFEC]


def test_out_of_range_int16_rejected():
    with pytest.raises(ValueError) as info:
        encode_number(-40000, "int16", "ABCD")

    message = "-40000 is out of range for int16: it takes -32768 to 32767"
    assert str(info.value) == message


@pytest.mark.parametrize("data_type", INTEGER_TYPES)
def test_integer_range_edges(data_type):
    low, high = integer_range(data_type)

    low_words = encode_number(low, data_type, "ABCD")
    high_words = encode_number(high, data_type, "DCBA")

    assert decode_number(low_words, data_type, "ABCD") == low
    assert decode_number(high_words, data_type, "DCBA") == high
    with pytest.raises(ValueError, match=f"out of range for {data_type}"):
        encode_number(low - 1, data_type, "ABCD")
    with pytest.raises(ValueError, match=f"out of range for {data_type}"):
        encode_number(high + 1, data_type, "ABCD")


def test_fraction_rejected_for_integer():
    with pytest.raises(ValueError, match="2.5 is not a whole number"):
        encode_number(2.5, "int32", "ABCD")


def test_float32_overflow_rejected():
    with pytest.raises(ValueError, match="out of range for float32"):
        encode_number(1e39, "float32", "ABCD")


def test_float_orders_match_field_layouts():
    assert encode_number(31.433521, "float32", "DCBA") == [0xDA77, 0xFB41]
    value = struct.unpack(">f", bytes.fromhex("BF8E147B"))[0]
    assert encode_number(value, "float32", "BADC") == [0x8EBF, 0x7B14]
    value = struct.unpack(">f", bytes.fromhex("436E9BD4"))[0]
    assert encode_number(value, "float32", "CDAB") == [0x9BD4, 0x436E]


def test_not_a_number_type_rejected():
    with pytest.raises(ValueError, match="string is not a numeric type"):
        encode_number(1, "string", "ABCD")


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("data_type", INTEGER_TYPES)
@given(data=st.data())
def test_integer_round_trip(order, data_type, data):
    value = data.draw(st.integers(*integer_range(data_type)))

    registers = encode_number(value, data_type, order)

    assert decode_number(registers, data_type, order) == value


@pytest.mark.parametrize("order", ORDERS)
@given(value=st.floats(allow_nan=False, width=32))
def test_float32_round_trip(order, value):
    registers = encode_number(value, "float32", order)

    assert decode_number(registers, "float32", order) == value


@pytest.mark.parametrize("order", ORDERS)
@given(value=st.floats(allow_nan=False))
def test_float64_round_trip(order, value):
    registers = encode_number(value, "float64", order)

    assert decode_number(registers, "float64", order) == value


def test_nan_written_as_nan():
    registers = encode_number(math.nan, "float32", "CDAB")

    assert math.isnan(decode_number(registers, "float32", "CDAB"))


@pytest.mark.parametrize("order", ORDERS)
def test_string_round_trip(order):
    registers = encode_string("PUMP-01", 5, order)

    assert len(registers) == 5
    name = tag(type="string", count=5, byte_order=order)
    assert decode_registers(name, registers).value == "PUMP-01"


def test_string_too_long_rejected():
    with pytest.raises(ValueError, match="more than the 4 of 2 registers"):
        encode_string("SunSpec", 2, "ABCD")


def test_scaled_value_rounds_to_raw_step():
    pressure = tag(type="int16", scale=0.01)

    assert encode_value(pressure, 4.21) == [421]
    assert encode_value(pressure, -0.2) == [0xFFEC]
    with pytest.raises(ValueError, match="out of range for int16"):
        encode_value(pressure, 400.0)


def test_float_scale_and_offset_inverted():
    flow = tag(type="float32", scale=2.0, offset=-1.0, byte_order="CDAB")

    registers = encode_value(flow, 4.0)

    assert decode_registers(flow, registers).value == 4.0


def test_bool_tag_needs_set_bit():
    with pytest.raises(ValueError, match="use set_bit"):
        encode_value(tag(type="bool", bit=3), True)


def test_set_bit_lsb_first():
    assert set_bit(0x0000, 0, True) == 0x0001
    assert set_bit(0x0000, 15, True) == 0x8000
    assert set_bit(0xFFFF, 3, False) == 0xFFF7
    with pytest.raises(ValueError, match="bit 16 is not in a 16-bit register"):
        set_bit(0, 16, True)


@given(data=st.binary(min_size=1, max_size=40), cut=st.integers(0, 7))
def test_unpack_bits_any_count(data, cut):
    count = len(data) * 8 - cut

    bits = unpack_bits(data, count)

    assert len(bits) == count
    for n in range(count):
        assert bits[n] == bool(data[n // 8] & (1 << (n % 8)))


def test_unpack_bits_short_data_rejected():
    with pytest.raises(ValueError, match="9 bits need 2 bytes, got 1"):
        unpack_bits(b"\xff", 9)
