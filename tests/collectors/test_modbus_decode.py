from __future__ import annotations

import math
from typing import get_args

import pytest

from vigie.config import REGISTER_COUNT, DataType, ModbusTag
from vigie.model import Quality

from collectors.modbus.datatypes import DATATYPES
from collectors.modbus.decode import (
    apply_scale,
    decode_bit,
    decode_number,
    decode_registers,
    decode_string,
)


def tag(**fields) -> ModbusTag:
    return ModbusTag.model_validate({"name": "t", "address": 0, **fields})


# 0x01020304 as int32 and 0x0102030405060708 as int64, on the wire in each order.
WIRE_32 = {
    "ABCD": [0x0102, 0x0304],
    "CDAB": [0x0304, 0x0102],
    "BADC": [0x0201, 0x0403],
    "DCBA": [0x0403, 0x0201],
}
WIRE_64 = {
    "ABCD": [0x0102, 0x0304, 0x0506, 0x0708],
    "CDAB": [0x0708, 0x0506, 0x0304, 0x0102],
    "BADC": [0x0201, 0x0403, 0x0605, 0x0807],
    "DCBA": [0x0807, 0x0605, 0x0403, 0x0201],
}


@pytest.mark.parametrize("order", ["ABCD", "CDAB", "BADC", "DCBA"])
def test_32_bit_byte_orders(order):
    assert decode_number(WIRE_32[order], "uint32", order) == 0x01020304


@pytest.mark.parametrize("order", ["ABCD", "CDAB", "BADC", "DCBA"])
def test_64_bit_byte_orders(order):
    assert decode_number(WIRE_64[order], "uint64", order) == 0x0102030405060708


def test_16_bit_byte_orders():
    assert decode_number([0x1234], "uint16", "ABCD") == 0x1234
    assert decode_number([0x1234], "uint16", "CDAB") == 0x1234
    assert decode_number([0x1234], "uint16", "BADC") == 0x3412
    assert decode_number([0x1234], "uint16", "DCBA") == 0x3412


def test_signed_extremes():
    assert decode_number([0x8000], "int16", "ABCD") == -32768
    assert decode_number([0xFFFF, 0xFFFF], "int32", "ABCD") == -1
    assert decode_number([0x8000, 0, 0, 0], "int64", "ABCD") == -(2**63)
    assert decode_number([0xFFFF] * 4, "uint64", "ABCD") == 2**64 - 1


def test_wrong_register_count_rejected():
    with pytest.raises(ValueError, match="float32 needs 2 registers, got 1"):
        decode_number([0x4048], "float32", "ABCD")


def test_float_nan_and_infinity_are_bad():
    cases = [
        ([0x7FC0, 0x0000], "device_nan"),
        ([0x7FBF, 0xFF80], "device_nan"),
        ([0xFFC0, 0x0001], "device_nan"),
        ([0x7F80, 0x0000], "device_inf"),
        ([0xFF80, 0x0000], "device_inf"),
    ]
    for words, reason in cases:
        decoded = decode_registers(tag(type="float32"), words)
        assert (words, decoded.value) == (words, None)
        assert (words, decoded.quality) == (words, Quality.BAD)
        assert (words, decoded.reason) == (words, reason)

    decoded = decode_registers(tag(type="float64"), [0x7FF8, 0, 0, 0])
    assert decoded.quality is Quality.BAD
    assert decoded.reason == "device_nan"
    decoded = decode_registers(tag(type="float64"), [0xFFF0, 0, 0, 0])
    assert decoded.reason == "device_inf"


def test_short_registers_are_bad_not_partial():
    decoded = decode_registers(tag(type="float32", byte_order="CDAB"), [0x519F])

    assert decoded.value is None
    assert decoded.quality is Quality.BAD
    assert decoded.reason == "bad_frame"


def test_scaled_overflow_is_bad():
    words = [0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF]  # largest finite float64

    decoded = decode_registers(tag(type="float64", scale=10.0), words)

    assert decoded.value is None
    assert decoded.quality is Quality.BAD
    assert decoded.reason == "out_of_range"


def test_negative_zero_keeps_sign():
    decoded = decode_registers(tag(type="float32"), [0x8000, 0x0000])

    assert math.copysign(1.0, decoded.value) == -1.0


def test_float_decodes_good():
    decoded = decode_registers(tag(type="float32"), [0x4048, 0xF5C3])

    assert decoded.quality is Quality.GOOD
    assert decoded.reason == ""
    assert math.isclose(decoded.value, 3.14, rel_tol=1e-7)


def test_integer_stays_int_without_scaling():
    decoded = decode_registers(tag(type="int32"), [0xFFFF, 0xFFFE])

    assert decoded.value == -2
    assert type(decoded.value) is int


def test_scale_and_offset():
    decoded = decode_registers(tag(type="int16", scale=0.01, offset=-1.5), [0xFB2E])

    assert decoded.value == -1234 * 0.01 - 1.5
    assert apply_scale(7, 1.0, 0.0) == 7
    assert apply_scale(7, 1.0, 2.0) == 9.0
    assert type(apply_scale(7, 1.0, 2.0)) is float
    assert apply_scale(7, 2.0, 0.0) == 14.0


def test_string_padding_and_byte_swap():
    assert decode_string([0x4142, 0x4300, 0x0000], "ABCD") == "ABC"
    assert decode_string([0x4142, 0x2020], "ABCD") == "AB"
    assert decode_string([0x4241, 0x0043], "BADC") == "ABC"
    assert decode_string([0x4241, 0x0043], "DCBA") == "ABC"
    assert decode_string([0x4142, 0x4344], "CDAB") == "ABCD"


def test_bit_in_register():
    assert decode_bit(0x8001, 0) is True
    assert decode_bit(0x8001, 1) is False
    assert decode_bit(0x8001, 15) is True
    decoded = decode_registers(tag(type="bool", bit=3), [0x0008])
    assert decoded.value is True


def test_layout_table_covers_config_types():
    assert set(DATATYPES) == set(get_args(DataType))
    for data_type, registers in REGISTER_COUNT.items():
        assert (data_type, DATATYPES[data_type].registers) == (data_type, registers)
