"""A hand-framed Modbus server on loopback, for faults a real server cannot show.

The test gives a ``respond(request)`` function that returns what to send back: a
list of ``(delay_s, bytes)`` writes (each list item is one write, so two frames in one
item arrive in one TCP segment), or None for no answer at all. The server handles one
request at a time across all connections, as a serial gateway does.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from collectors.modbus.framing import crc16


@dataclass(frozen=True)
class FakeRequest:
    tid: int | None
    unit_id: int
    function: int
    address: int
    count: int
    raw: bytes


def tcp_frame(tid: int, unit_id: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit_id) + pdu


def rtu_frame(unit_id: int, pdu: bytes) -> bytes:
    body = bytes([unit_id]) + pdu
    return body + crc16(body).to_bytes(2, "little")


def registers_pdu(function: int, values: list[int]) -> bytes:
    return bytes([function, 2 * len(values)]) + struct.pack(f">{len(values)}H", *values)


def reply(
    request: FakeRequest,
    values: list[int],
    tid: int | None = None,
    unit_id: int | None = None,
) -> bytes:
    """A register reply to ``request``, with another id or unit id when given."""
    pdu = registers_pdu(request.function, values)
    unit = request.unit_id if unit_id is None else unit_id
    if request.tid is None:
        return rtu_frame(unit, pdu)
    return tcp_frame(request.tid if tid is None else tid, unit, pdu)


def exception_reply(request: FakeRequest, code: int) -> bytes:
    pdu = bytes([request.function | 0x80, code])
    if request.tid is None:
        return rtu_frame(request.unit_id, pdu)
    return tcp_frame(request.tid, request.unit_id, pdu)


class FakeModbusServer:
    def __init__(self, respond, framing: str = "tcp", max_connections: int = 16):
        self.respond = respond
        self.framing = framing
        self.max_connections = max_connections
        self.requests: list[FakeRequest] = []
        self.connections_accepted = 0
        self.connections_rejected = 0
        self.open_connections = 0
        self.max_open_connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self.lock = asyncio.Lock()
        self.writers: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        if self.handlers:
            await asyncio.wait(list(self.handlers), timeout=2.0)
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader, writer) -> None:
        if self.open_connections >= self.max_connections:
            self.connections_rejected += 1
            writer.close()
            return
        self.connections_accepted += 1
        self.handlers.add(asyncio.current_task())
        self.open_connections += 1
        self.max_open_connections = max(
            self.max_open_connections, self.open_connections
        )
        self.writers.add(writer)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                async with self.lock:
                    writes = self.respond(request) or []
                    for delay_s, data in writes:
                        if delay_s:
                            await asyncio.sleep(delay_s)
                        writer.write(data)
                        await writer.drain()
                self.in_flight -= 1
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.open_connections -= 1
            self.writers.discard(writer)
            self.handlers.discard(asyncio.current_task())
            writer.close()

    async def _read_request(self, reader) -> FakeRequest | None:
        try:
            if self.framing == "rtu_over_tcp":
                raw = await reader.readexactly(8)
                unit_id, function, address, count = struct.unpack(">BBHH", raw[:6])
                assert crc16(raw[:6]) == int.from_bytes(raw[6:], "little")
                return FakeRequest(None, unit_id, function, address, count, raw)
            header = await reader.readexactly(7)
            tid, _, length, unit_id = struct.unpack(">HHHB", header)
            pdu = await reader.readexactly(length - 1)
        except asyncio.IncompleteReadError:
            return None
        function, address, count = struct.unpack(">BHH", pdu[:5])
        return FakeRequest(tid, unit_id, function, address, count, header + pdu)
