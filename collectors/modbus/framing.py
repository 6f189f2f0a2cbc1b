"""Modbus read requests and replies on the wire: PDUs, MBAP frames and RTU frames.

Pure functions and stream parsers, no I/O. A Modbus TCP frame is the MBAP header
(transaction id, protocol id 0, length of what follows, unit id) and the PDU. An RTU
frame is the unit id, the PDU and a CRC-16 sent low byte first; it has no length field,
so the parser takes the length from the function code and the byte count.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Function codes of the four reads.
READ_FUNCTIONS = {"coil": 1, "discrete_input": 2, "holding": 3, "input": 4}
EXCEPTION_FLAG = 0x80

# Exception codes that the collector treats on their own.
ILLEGAL_DATA_ADDRESS = 2
DEVICE_BUSY = 6

MBAP_HEADER = struct.Struct(">HHHB")
# The MBAP length counts the unit id and the PDU, and a PDU is at most 253 bytes.
MAX_MBAP_LENGTH = 254


class FrameError(Exception):
    """A reply that cannot be the answer to its request: short, malformed or foreign."""


@dataclass(frozen=True, slots=True)
class ReadReply:
    """A decoded read reply: the values, or the exception code the device sent."""

    values: list[int] | list[bool] | None
    exception_code: int = 0


def read_pdu(function: int, address: int, count: int) -> bytes:
    return struct.pack(">BHH", function, address, count)


def parse_read_reply(function: int, count: int, pdu: bytes) -> ReadReply:
    """Decode the reply PDU to a read of ``count`` values. Raises FrameError."""
    if len(pdu) < 2:
        raise FrameError(f"short reply: {len(pdu)} bytes of PDU")

    if pdu[0] == function | EXCEPTION_FLAG:
        if len(pdu) != 2:
            raise FrameError(f"exception reply of {len(pdu)} bytes, expected 2")
        return ReadReply(None, pdu[1])

    if pdu[0] != function:
        raise FrameError(
            f"reply has function code {pdu[0]}, the request had {function}"
        )

    byte_count = pdu[1]
    data = pdu[2:]
    if len(data) != byte_count:
        raise FrameError(
            f"reply byte count {byte_count} but {len(data)} data bytes follow"
        )

    if function in (1, 2):
        expected = (count + 7) // 8
        if byte_count != expected:
            raise FrameError(
                f"short reply: {byte_count} bytes for {count} bits, expected {expected}"
            )
        bits = [bool(data[i // 8] >> (i % 8) & 1) for i in range(count)]
        return ReadReply(bits)

    if byte_count != 2 * count:
        raise FrameError(
            f"short reply: {byte_count} bytes for {count} registers,"
            f" expected {2 * count}"
        )
    return ReadReply(list(struct.unpack(f">{count}H", data)))


def encode_tcp(tid: int, unit_id: int, pdu: bytes) -> bytes:
    return MBAP_HEADER.pack(tid, 0, len(pdu) + 1, unit_id) + pdu


@dataclass(frozen=True, slots=True)
class Frame:
    """One received frame. ``tid`` is None for RTU frames, which have none."""

    tid: int | None
    unit_id: int
    pdu: bytes


class TcpFrameParser:
    """Cuts a TCP byte stream into MBAP frames.

    ``feed()`` returns the complete frames received so far and keeps a partial frame
    for the next call. A header with a protocol id other than 0 or an impossible
    length raises FrameError: the stream is then out of step and the caller must
    drop the connection.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= MBAP_HEADER.size:
            tid, protocol, length, unit_id = MBAP_HEADER.unpack_from(self.buffer)
            if protocol != 0:
                raise FrameError(f"MBAP protocol id {protocol}, expected 0")
            if not 2 <= length <= MAX_MBAP_LENGTH:
                raise FrameError(f"MBAP length {length}, expected 2 to 254")

            end = MBAP_HEADER.size - 1 + length
            if len(self.buffer) < end:
                break
            frames.append(Frame(tid, unit_id, bytes(self.buffer[7:end])))
            del self.buffer[:end]
        return frames

    def clear(self) -> None:
        self.buffer.clear()


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (polynomial 0xA001 reflected, initial value 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_rtu(unit_id: int, pdu: bytes) -> bytes:
    body = bytes([unit_id]) + pdu
    return body + crc16(body).to_bytes(2, "little")


class RtuFrameParser:
    """Cuts an RTU byte stream into frames, for replies to the four reads only.

    The frame length follows from the function code: 5 bytes for an exception reply,
    5 plus the byte count for a read reply. An unknown function code or a wrong CRC
    raises FrameError after dropping the buffer, so the next request starts clean.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 2:
            function = self.buffer[1]
            if function & EXCEPTION_FLAG:
                length = 5
            elif function in (1, 2, 3, 4):
                if len(self.buffer) < 3:
                    break
                length = 5 + self.buffer[2]
            else:
                self.buffer.clear()
                raise FrameError(f"RTU reply with unknown function code {function}")

            if len(self.buffer) < length:
                break
            frame = bytes(self.buffer[:length])
            del self.buffer[:length]
            if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
                self.buffer.clear()
                raise FrameError("RTU reply with a wrong CRC")
            frames.append(Frame(None, frame[0], frame[1:-2]))
        return frames

    def clear(self) -> None:
        self.buffer.clear()
