import pytest

from device_sims.registers import encode_registers
from vigie.config import ModbusTag


def tag(**fields) -> ModbusTag:
    return ModbusTag(name="value", address=0, **fields)


@pytest.mark.parametrize(
    ("byte_order", "registers"),
    [
        ("ABCD", [0x4048, 0xF5C3]),
        ("CDAB", [0xF5C3, 0x4048]),
        ("BADC", [0x4840, 0xC3F5]),
        ("DCBA", [0xC3F5, 0x4840]),
    ],
)
def test_float32_byte_orders_match_config_example(byte_order, registers):
    value = tag(type="float32", byte_order=byte_order)
    assert encode_registers(value, 3.14) == registers


@pytest.mark.parametrize(
    ("byte_order", "registers"),
    [
        ("ABCD", [0x0102, 0x0304, 0x0506, 0x0708]),
        ("CDAB", [0x0708, 0x0506, 0x0304, 0x0102]),
        ("BADC", [0x0201, 0x0403, 0x0605, 0x0807]),
        ("DCBA", [0x0807, 0x0605, 0x0403, 0x0201]),
    ],
)
def test_uint64_byte_orders(byte_order, registers):
    counter = tag(type="uint64", byte_order=byte_order)
    assert encode_registers(counter, 0x0102030405060708) == registers


def test_scaled_int16_rounds_and_keeps_sign():
    pressure = tag(type="int16", scale=0.01)

    assert encode_registers(pressure, 4.49) == [449]
    assert encode_registers(pressure, -0.5) == [0xFFCE]


def test_scaled_int32_negative_power():
    assert encode_registers(tag(type="int32", scale=0.1), -12.3) == [0xFFFF, 0xFF85]


def test_offset_is_subtracted_before_scaling():
    temperature = tag(type="uint16", scale=0.1, offset=-40.0)

    assert encode_registers(temperature, 21.5) == [615]


def test_integer_out_of_range_clamps_to_type_limits():
    level = tag(type="uint16", scale=0.001)

    assert encode_registers(level, 70.0) == [0xFFFF]
    assert encode_registers(level, -1.0) == [0]
    assert encode_registers(level, float("inf")) == [0xFFFF]
    assert encode_registers(level, float("nan")) == [0]


def test_sixteen_bit_byte_order():
    assert encode_registers(tag(type="uint16", byte_order="ABCD"), 0x1234) == [0x1234]
    assert encode_registers(tag(type="uint16", byte_order="CDAB"), 0x1234) == [0x1234]
    assert encode_registers(tag(type="uint16", byte_order="BADC"), 0x1234) == [0x3412]
    assert encode_registers(tag(type="uint16", byte_order="DCBA"), 0x1234) == [0x3412]


def test_string_byte_swap_keeps_register_order():
    name = tag(type="string", count=2, byte_order="BADC")

    assert encode_registers(name, "PS1") == [0x5350, 0x0031]


def test_string_pads_with_nul_bytes():
    name = tag(type="string", count=3)

    assert encode_registers(name, "PS1") == [0x5053, 0x3100, 0x0000]
