"""A hand-framed Modbus TCP server on loopback that records every request PDU.

Tests use it where the exact bytes matter: the request PDU a tag produces, data
bytes of a coil response chosen byte by byte, a short response, an exception
response or no answer at all.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

# Function codes and the register table each one reads.
READ_TABLES = {1: "coil", 2: "discrete_input", 3: "holding", 4: "input"}

Responder = Callable[[int, bytes], bytes | None]


class WireServer:
    """Answers each request with ``respond(unit_id, request_pdu)``.

    The responder returns the response PDU, or None to send no answer. ``requests``
    keeps ``(unit_id, request_pdu)`` for every request received.
    """

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[tuple[int, bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def __aenter__(self) -> WireServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    async def _serve(self, reader, writer) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                tid, _protocol, length, unit_id = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                self.requests.append((unit_id, pdu))

                answer = self.respond(unit_id, pdu)
                if answer is None:
                    continue
                mbap = struct.pack(">HHHB", tid, 0, len(answer) + 1, unit_id)
                writer.write(mbap + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def register_responder(tables: dict[str, dict[int, int]]) -> Responder:
    """Answer FC03/FC04 from ``{kind: {address: word}}``.

    A request that touches a word not in the table gets exception code 2.
    """

    def respond(_unit_id: int, pdu: bytes) -> bytes:
        function = pdu[0]
        address, count = struct.unpack(">HH", pdu[1:5])
        table = tables.get(READ_TABLES.get(function, ""), {})
        words = [table.get(address + n) for n in range(count)]
        if function not in (3, 4) or None in words:
            return bytes([function | 0x80, 2])
        return bytes([function, 2 * count]) + struct.pack(f">{count}H", *words)

    return respond


def bits_responder(data: bytes) -> Responder:
    """Answer every FC01/FC02 read with exactly ``data`` as its data bytes."""

    def respond(_unit_id: int, pdu: bytes) -> bytes:
        return bytes([pdu[0], len(data)]) + data

    return respond
