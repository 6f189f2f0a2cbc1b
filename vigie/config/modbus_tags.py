"""Modbus register tags: kinds, data types, byte orders, addresses and notations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vigie.config.alarms import TagBase, check_alarm_types
from vigie.config.base import Frozen

RegisterKind = Literal["holding", "input", "coil", "discrete_input"]
DataType = Literal[
    "bool",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
]
ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
AddressNotation = Literal["pdu", "one_based", "modicon"]

# Registers that one value of each type occupies. "string" uses the tag's count.
REGISTER_COUNT = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "int64": 4,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
}
BIT_KINDS = ("coil", "discrete_input")
MAX_ADDRESS = 65535

# Leading digit of a Modicon reference and the register kind it stands for.
MODICON_KINDS = {0: "coil", 1: "discrete_input", 3: "input", 4: "holding"}
KIND_NAMES = {
    "coil": "coil",
    "discrete_input": "discrete input",
    "input": "input register",
    "holding": "holding register",
}
MODICON_RANGES = (
    "00001-09999 coils, 10001-19999 discrete inputs, 30001-39999 input registers,"
    " 40001-49999 holding registers, or the six-digit forms 100001-165536,"
    " 300001-365536 and 400001-465536"
)


class ModbusTag(TagBase):
    kind: RegisterKind = "holding"
    # Protocol (0-based PDU) address of the first register or bit. With a device's
    # address_notation one_based or modicon, the number typed in the config is
    # moved to `reference` and this is the resolved protocol address.
    address: int
    # The manual's number as typed in the config, when the device's notation is not
    # pdu; None with pdu notation.
    reference: str | None = None
    type: DataType = "uint16"
    # Byte order of 32- and 64-bit values; see the worked example in config.yaml.
    byte_order: ByteOrder = "ABCD"
    # Bit inside a register, 0 = least significant; only with type bool.
    bit: int | None = Field(default=None, ge=0, le=15)
    # Register count of a string tag.
    count: int | None = Field(default=None, ge=1, le=125)
    scale: float = 1.0
    offset: float = 0.0
    # A monotonic counter (energy, volume): a decrease is flagged, not stored good.
    counter: bool = False
    # With counter: a value above the previous one times this factor is flagged.
    max_counter_jump: float | None = Field(default=None, gt=1.0)

    @property
    def register_count(self) -> int:
        if self.kind in BIT_KINDS:
            return 1
        if self.type == "string":
            return self.count or 1
        return REGISTER_COUNT[self.type]

    @model_validator(mode="after")
    def _check_layout(self) -> ModbusTag:
        if self.kind in BIT_KINDS and self.type != "bool":
            raise ValueError(
                f"a {self.kind} is one bit, so its type must be bool, not {self.type}"
            )
        if self.bit is not None and (self.type != "bool" or self.kind in BIT_KINDS):
            raise ValueError(
                "'bit' applies only to type bool in a holding or input register"
            )
        if self.type == "bool" and self.kind not in BIT_KINDS and self.bit is None:
            raise ValueError("a bool in a register needs 'bit' (0-15)")
        if self.type == "string" and self.count is None:
            raise ValueError("a string tag needs 'count' (its number of registers)")
        if self.type != "string" and self.count is not None:
            raise ValueError("'count' applies only to type string")
        if self.counter and self.type in ("bool", "string"):
            raise ValueError(
                f"counter: a counter must be a numeric type, not {self.type}"
            )
        if self.max_counter_jump is not None and not self.counter:
            raise ValueError(
                "max_counter_jump: applies only to a tag with counter: true"
            )
        if self.scale == 0:
            raise ValueError("scale: 0 would turn every reading into the offset")
        check_alarm_types(
            self.alarms, self.type, floating=self.type in ("float32", "float64")
        )
        self._check_address_range()
        return self

    def _check_address_range(self) -> None:
        if self.address < 0:
            raise ValueError(
                f"address: register out of range: {self.address} is below 0;"
                " protocol addresses run from 0 to 65535"
            )
        if self.address > MAX_ADDRESS:
            raise ValueError(
                f"address: register out of range: {self.address} is past"
                f" {MAX_ADDRESS}. {pdu_hint(self.address)}"
            )

        last = self.address + self.register_count - 1
        if last <= MAX_ADDRESS:
            return
        if self.reference is None:
            raise ValueError(
                f"address: register out of range: {self.address} with"
                f" {self.register_count} registers ends at {last}, past"
                f" {MAX_ADDRESS}"
            )
        raise ValueError(
            f"address: register out of range: reference {self.reference} is"
            f" {KIND_NAMES[self.kind]} {self.address}, and with"
            f" {self.register_count} registers it ends at {last}, past {MAX_ADDRESS}"
        )


def pdu_hint(number: int) -> str:
    """Explain a number too large for a protocol address, and the setting it needs."""
    text = "Addresses are 0-based protocol (PDU) addresses with address_notation: pdu"
    try:
        kind, address = modicon_address(number)
    except ValueError:
        return (
            f"{text}; if {number} is a number from the device's manual, set"
            " address_notation: one_based or modicon on the device"
        )
    digits = str(number)
    pattern = digits[0] + "x" * (len(digits) - 1)
    return (
        f"{text}; if {number} is a {pattern} reference, set"
        f" address_notation: modicon on the device (it would be"
        f" {KIND_NAMES[kind]} {address})"
    )


def modicon_address(reference: int | str) -> tuple[str, int]:
    """Return the register kind and protocol address of a Modicon reference.

    An integer is read by its value: 1-9999 coils, 10001-19999 discrete inputs,
    30001-39999 input and 40001-49999 holding registers, and the six-digit
    100001-165536, 300001-365536 and 400001-465536. A string of digits is read by its
    length and leading digit, which also allows six-digit coils such as "010001".
    Raises ValueError for a number that is no Modicon reference.
    """
    if isinstance(reference, str):
        digits = reference
        if len(digits) not in (5, 6) or not digits.isdigit():
            raise ValueError(f"{reference!r} is not a 5- or 6-digit reference")
    else:
        digits = str(reference)
        if reference < 1:
            raise ValueError(f"{reference} is below 00001")
        if reference <= 9999:
            digits = digits.zfill(5)

    if len(digits) not in (5, 6):
        raise ValueError(f"{reference} is not a 5- or 6-digit reference")
    kind = MODICON_KINDS.get(int(digits[0]))
    number = int(digits[1:])
    limit = 9999 if len(digits) == 5 else MAX_ADDRESS + 1
    if kind is None or not 1 <= number <= limit:
        raise ValueError(f"{reference} is not a Modicon reference")
    return kind, number - 1


class ModbusAddressing(Frozen):
    """Device-level address notation, mixed into ModbusDevice.

    Tags are resolved to protocol addresses before they are validated, so the
    planner and the collector only ever see 0-based PDU addresses.
    """

    # How tag addresses are written: pdu (0-based protocol address, as sent on the
    # wire), one_based (the manual's register number, protocol address + 1) or
    # modicon (40001 = holding 0, 30001 = input 0, 10001 = discrete input 0,
    # 00001 = coil 0; the reference also sets the tag's kind).
    address_notation: AddressNotation = "pdu"

    @model_validator(mode="before")
    @classmethod
    def _resolve_tag_addresses(cls, data):
        if not isinstance(data, dict):
            return data
        notation = data.get("address_notation", "pdu")
        tags = data.get("tags")
        if notation not in ("one_based", "modicon") or not isinstance(tags, list):
            return data

        resolved = [
            resolve_tag(notation, index, tag) if isinstance(tag, dict) else tag
            for index, tag in enumerate(tags)
        ]
        return {**data, "tags": resolved}


def resolve_tag(notation: str, index: int, tag: dict) -> dict:
    """Return a copy of a raw tag with its typed number resolved to a PDU address.

    The typed number is ``reference`` when present (a tag that was already
    resolved once), else ``address``. Raises ValueError naming the key.
    """
    key = "reference" if "reference" in tag else "address"
    typed = tag.get(key)
    number = _typed_number(typed)
    if number is None:
        return tag

    where = f"tags[{index}].{key}"
    if notation == "one_based":
        kind = tag.get("kind", "holding")
        address = _one_based_address(where, number)
    else:
        kind, address = _modicon_address(where, number)
        given_kind = tag.get("kind")
        if given_kind is not None and given_kind != kind:
            raise ValueError(
                f"tags[{index}].kind: reference {typed} in modicon notation is"
                f" {KIND_NAMES[kind]} {address}, but kind is {given_kind!r};"
                f" set kind: {kind} or remove it"
            )

    if key == "reference" and tag.get("address", address) != address:
        raise ValueError(
            f"tags[{index}].address: {tag['address']} disagrees with reference"
            f" {typed}, which is {KIND_NAMES[kind]} {address} in {notation}"
            " notation; give only one of them"
        )
    resolved = {**tag, "address": address, "reference": str(typed)}
    if notation == "modicon":
        resolved["kind"] = kind
    return resolved


def _typed_number(typed) -> int | str | None:
    """Return the typed number as an int, or a digit string, or None to leave as is."""
    if isinstance(typed, bool):
        return None
    if isinstance(typed, int):
        return typed
    if isinstance(typed, float) and typed.is_integer():
        return int(typed)
    if isinstance(typed, str) and typed.isdigit():
        return typed
    return None


def _one_based_address(where: str, number: int | str) -> int:
    value = int(number)
    if value < 1:
        raise ValueError(
            f"{where}: register out of range: {value} is below 1; one_based"
            " numbers start at 1, which is protocol address 0"
        )
    if value > MAX_ADDRESS + 1:
        raise ValueError(
            f"{where}: register out of range: {value} is past {MAX_ADDRESS + 1}"
            f" (protocol address {MAX_ADDRESS}); if it is a 4xxxx or 3xxxx"
            " reference, set address_notation: modicon on the device"
        )
    return value - 1


def _modicon_address(where: str, number: int | str) -> tuple[str, int]:
    try:
        return modicon_address(number)
    except ValueError:
        pass

    hint = ""
    value = int(number)
    if value in (10000, 30000, 40000, 100000, 300000, 400000):
        hint = (
            f"; {value} is no reference because each range starts at 1 (40001 is"
            f" holding register 0), so if {value} is a protocol address from the"
            " manual, set address_notation: pdu"
        )
    raise ValueError(
        f"{where}: reference {number} in modicon notation is not a Modicon"
        f" reference: use {MODICON_RANGES}{hint}"
    )


def check_device_tags(device) -> None:
    """Check a device's tags against its device-level settings; raise ValueError."""
    if device.address_notation != "pdu":
        return
    for index, tag in enumerate(device.tags):
        if tag.reference is not None:
            raise ValueError(
                f"tags[{index}].reference: applies only with address_notation"
                " one_based or modicon; with pdu, write the protocol address in"
                " 'address'"
            )
