"""`vigie probe modbus`: read or write a device once, to work out its register map.

The read prints the raw words and their decoding in every data type and byte order
at every start address, so an engineer can match the numbers against a front panel.
It never reads or changes config.yaml.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from vigie.commands import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_log_option

log = logging.getLogger(__name__)

KINDS = ("holding", "input", "coil", "discrete_input")
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
WIDE_TYPES = (("int32", "uint32", "float32"), ("int64", "uint64", "float64"))
WRITE_TYPES = (
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
)

# Modbus exception codes and their names in the protocol specification.
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
# "SunS", the marker that starts a SunSpec register map.
SUNSPEC_MARKER = [0x5375, 0x6E53]


class ProbeError(Exception):
    """A probe that got no usable response. The message is printed as is."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def register(commands) -> None:
    parser = commands.add_parser(
        "probe", help="read or write a device once, to work out its register map"
    )

    protocols = parser.add_subparsers(
        dest="protocol", required=True, metavar="PROTOCOL"
    )
    modbus = protocols.add_parser(
        "modbus",
        help="read registers or bits once and print every decoding",
        description=(
            "Read COUNT registers or bits from ADDRESS (a 0-based protocol address)"
            " and print them in hex, decimal, every data type and byte order, and"
            " ASCII. With --write, write one value instead."
        ),
    )

    modbus.add_argument(
        "target", metavar="HOST:PORT", help="device address, port 502 if left out"
    )

    modbus.add_argument(
        "--unit", type=int, default=1, help="unit id, 0-255 (default: 1)"
    )

    modbus.add_argument(
        "--kind",
        choices=KINDS,
        default="holding",
        help="register kind (default: holding)",
    )

    modbus.add_argument(
        "--address",
        type=int,
        default=0,
        help="0-based protocol address; reference 40001 is holding 0 (default: 0)",
    )

    modbus.add_argument(
        "--count", type=int, default=8, help="registers or bits to read (default: 8)"
    )

    modbus.add_argument(
        "--framing",
        choices=("tcp", "rtu_over_tcp"),
        default="tcp",
        help="tcp for Modbus TCP, rtu_over_tcp for RTU frames with CRC over TCP,"
        " as a device's framing setting (default: tcp)",
    )

    modbus.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds to wait for the response (default: 2)",
    )

    modbus.add_argument(
        "--write",
        metavar="VALUE",
        help="write VALUE at ADDRESS instead of reading: FC06 for one register,"
        " FC16 for more, FC05 for a coil (true or false)",
    )

    modbus.add_argument("--type", choices=WRITE_TYPES, help="data type of --write")

    modbus.add_argument(
        "--broadcast",
        action="store_true",
        help="send --write to unit 0 as a broadcast, which RTU gateways pass to every"
        " unit and which no unit answers, so no response is awaited",
    )

    modbus.add_argument(
        "--byte-order", choices=ORDERS, default="ABCD", help="byte order of --write"
    )

    add_log_option(modbus)
    modbus.set_defaults(handler=run)


def run(args) -> int:
    if args.log_level != "DEBUG":
        # pymodbus logs each timeout and failed connect itself; the probe reports them.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        target = parse_target(args.target)
        check_arguments(args)
        registers = write_registers(args) if args.write is not None else None
    except ValueError as err:
        print(f"vigie probe: {err}")
        return EXIT_CONFIG

    try:
        lines = asyncio.run(probe(args, target, registers))
    except ProbeError as err:
        print(f"vigie probe: {err}")
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


def parse_target(text: str) -> Target:
    host, _, port = text.rpartition(":")
    if not host:
        return Target(text, 502)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"invalid port in {text!r}: use HOST:PORT, port 1 to 65535")
    return Target(host, int(port))


def check_arguments(args) -> None:
    if not 0 <= args.unit <= 255:
        raise ValueError(f"unit id {args.unit} is not in 0 to 255")
    if not 0 <= args.address <= 65535:
        raise ValueError(
            f"address {args.address} is past 65535: the probe takes 0-based protocol"
            " addresses, so reference 40001 is --address 0"
        )
    limit = 2000 if args.kind in ("coil", "discrete_input") else 125
    if not 1 <= args.count <= limit:
        raise ValueError(f"count {args.count} is not in 1 to {limit} for {args.kind}")
    if args.address + args.count - 1 > 65535:
        raise ValueError(f"address {args.address} with count {args.count} passes 65535")
    if args.timeout <= 0:
        raise ValueError("timeout must be above 0 seconds")
    if args.broadcast and (args.write is None or args.unit != 0):
        raise ValueError(
            "--broadcast sends a --write to unit 0: add --write and --unit 0"
        )
    if args.write is None:
        return
    if args.kind not in ("holding", "coil"):
        raise ValueError(f"{args.kind} is read-only; write to holding or coil")
    if args.kind == "holding" and args.type is None:
        raise ValueError("--write to a holding register needs --type")


def write_registers(args) -> list[int] | bool:
    """Return the registers, or the coil state, of --write. Raises ValueError."""
    from collectors.modbus.encode import encode_number, encode_string

    text = args.write
    if args.kind == "coil":
        states = {
            "1": True,
            "true": True,
            "on": True,
            "0": False,
            "false": False,
            "off": False,
        }
        if text.lower() not in states:
            raise ValueError(f"coil value {text!r} is invalid: use true or false")
        return states[text.lower()]

    if args.type == "string":
        return encode_string(text, (len(text) + 1) // 2, args.byte_order)
    try:
        number = float(text) if args.type.startswith("float") else int(text, 0)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid {args.type} value") from None
    try:
        return encode_number(number, args.type, args.byte_order)
    except ValueError as err:
        raise ValueError(f"not sent: {err}") from None


async def probe(args, target: Target, registers) -> list[str]:
    from pymodbus import FramerType
    from pymodbus.client import AsyncModbusTcpClient

    # NOTE: rtu_over_tcp goes to pymodbus's RTU framer and no test here covers it.
    framer = FramerType.RTU if args.framing == "rtu_over_tcp" else FramerType.SOCKET
    client = AsyncModbusTcpClient(
        target.host,
        port=target.port,
        framer=framer,
        timeout=args.timeout,
        retries=0,
        reconnect_delay=0,
    )
    try:
        if not await client.connect():
            raise ProbeError(
                f"cannot connect to {target}: no server accepted the connection"
            )
        if registers is None:
            return await read_once(client, args, target)
        return await write_once(client, args, target, registers)
    finally:
        client.close()


async def read_once(client, args, target: Target) -> list[str]:
    read = {
        "coil": client.read_coils,
        "discrete_input": client.read_discrete_inputs,
        "holding": client.read_holding_registers,
        "input": client.read_input_registers,
    }[args.kind]
    what = f"read {args.kind} {args.address} count {args.count}"
    response = await send(
        read(args.address, count=args.count, device_id=args.unit), args, what
    )

    header = (
        f"{target} unit {args.unit}: {args.kind} {args.address} count {args.count}"
        " (0-based protocol addresses)"
    )
    if args.kind in ("coil", "discrete_input"):
        bits = list(response.bits[: args.count])
        return [header, "", *format_bits(args.address, bits)]

    words = list(response.registers)
    if len(words) < args.count:
        raise ProbeError(f"unit {args.unit} returned {len(words)} registers for {what}")
    return [header, "", *format_registers(args.address, words)]


async def write_once(client, args, target: Target, registers) -> list[str]:
    if args.kind == "coil":
        what = f"write coil {args.address}"
        await send(
            client.write_coil(args.address, registers, device_id=args.unit), args, what
        )
        return [
            f"{target} unit {args.unit}: wrote coil {args.address} = {registers} (FC05)"
        ]

    options = {"device_id": args.unit, "no_response_expected": args.broadcast}
    if len(registers) == 1:
        function = "FC06"
        request = client.write_register(args.address, registers[0], **options)
    else:
        function = "FC16"
        request = client.write_registers(args.address, registers, **options)
    what = f"write holding {args.address} count {len(registers)}"
    data = " ".join(f"0x{word:04X}" for word in registers)
    if args.broadcast:
        await request
        return [
            f"{target} unit 0: broadcast {args.write} as {args.type}"
            f" ({args.byte_order}) to holding {args.address}: {function} data {data},"
            " no response awaited"
        ]
    await send(request, args, what)
    line = (
        f"{target} unit {args.unit}: wrote {args.write} as {args.type}"
        f" ({args.byte_order}) to holding {args.address}: {function} data {data}"
    )
    return [line]


async def send(request, args, what: str):
    """Await one request. Raises ProbeError on a timeout or an exception response."""
    from pymodbus.exceptions import ModbusException

    try:
        response = await request
    except (ModbusException, OSError) as err:
        log.debug("%s on unit %d failed: %s", what, args.unit, err)
        raise ProbeError(
            f"no answer from unit {args.unit} within {args.timeout:g} s ({what})"
        ) from None

    if response.isError():
        code = response.exception_code
        name = EXCEPTION_NAMES.get(code, "unknown exception code")
        raise ProbeError(
            f"unit {args.unit} returned exception {code} ({name}) for {what}"
        )
    return response


def format_bits(address: int, bits: list[bool]) -> list[str]:
    lines = ["address  value"]
    lines += [f"{address + n:>7}  {int(bit)}" for n, bit in enumerate(bits)]
    return lines


def format_registers(address: int, words: list[int]) -> list[str]:
    """Format words as a table, every wider decoding, ASCII and hints."""
    from collectors.modbus.decode import decode_number

    lines = ["address  hex     uint16   int16  swapped  ascii"]
    for n, word in enumerate(words):
        swapped = decode_number([word], "uint16", "BADC")
        signed = decode_number([word], "int16", "ABCD")
        text = ascii_text([word])
        lines.append(
            f"{address + n:>7}  0x{word:04X}  {word:>6}  {signed:>6}  {swapped:>7}"
            f"  {text}"
        )

    for types in WIDE_TYPES:
        size = 2 if types[0].endswith("32") else 4
        width = 13 if size == 2 else 21
        if len(words) < size:
            continue
        lines += ["", f"{size * 16}-bit values at each start address:"]
        orders = "  ".join(f"{order:>{width}}" for order in ORDERS)
        lines.append(f"address  {'type':<7}  {orders}")
        for start in range(len(words) - size + 1):
            chunk = words[start : start + size]
            for data_type in types:
                cells = [
                    format_number(decode_number(chunk, data_type, order), data_type)
                    for order in ORDERS
                ]
                lines.append(
                    f"{address + start:>7}  {data_type:<7}"
                    f"  {'  '.join(f'{cell:>{width}}' for cell in cells)}"
                )

    lines += [
        "",
        f"ASCII: {ascii_text(words)}",
        f"ASCII, bytes swapped: {ascii_text(words, swap=True)}",
    ]
    lines += sunspec_hints(address, words)
    return lines


def format_number(value: int | float, data_type: str) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    digits = 7 if data_type == "float32" else 15
    return format(value, f".{digits}g")


def ascii_text(words: list[int], swap: bool = False) -> str:
    """Return the words as quoted text, printable ASCII only, others as dots."""
    raw = b"".join(word.to_bytes(2, "little" if swap else "big") for word in words)
    return '"' + "".join(chr(b) if 32 <= b < 127 else "." for b in raw) + '"'


def sunspec_hints(address: int, words: list[int]) -> list[str]:
    hints = []
    for start in range(len(words) - 1):
        if words[start : start + 2] != SUNSPEC_MARKER:
            continue
        found = address + start
        hints += [
            "",
            f'Suggestion: "SunS" at protocol address {found} starts a SunSpec map.',
            f"Its registers sit at raw protocol addresses from {found}: set",
            "address_notation: pdu on this device and use the map's addresses as",
            "they are. The probe changed no configuration.",
        ]
    return hints
