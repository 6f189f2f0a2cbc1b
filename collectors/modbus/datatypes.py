"""Layout of each configured data type in Modbus registers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TypeLayout:
    # struct format code of the big-endian value, empty for bool and string.
    struct_code: str
    # Registers that one value occupies. A string uses its tag's count instead.
    registers: int


DATATYPES: dict[str, TypeLayout] = {
    "bool": TypeLayout("", 1),
    "int16": TypeLayout("h", 1),
    "uint16": TypeLayout("H", 1),
    "int32": TypeLayout("i", 2),
    "uint32": TypeLayout("I", 2),
    "int64": TypeLayout("q", 4),
    "uint64": TypeLayout("Q", 4),
    "float32": TypeLayout("f", 2),
    "float64": TypeLayout("d", 4),
    "string": TypeLayout("", 0),
}

# Maximum quantity of one read request in the Modbus protocol: 125 registers
# (function codes 3 and 4) or 2000 bits (function codes 1 and 2).
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000

# Largest finite magnitude of each float type.
FLOAT_MAX = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308}


def integer_range(data_type: str) -> tuple[int, int]:
    """Return the smallest and largest value of an integer type such as int16."""
    bits = DATATYPES[data_type].registers * 16
    if data_type.startswith("u"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
