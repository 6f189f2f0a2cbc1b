"""Control port: newline-delimited JSON on loopback to force and release points.

Requests, one JSON object a line:

    {"force": "discharge_pressure", "value": 7.1}
    {"release": "discharge_pressure"}

Each request gets one line back: {"ok": true} or {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable

from device_sims.points import PointSource

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_LINE_BYTES = 64 * 1024


async def start_control_server(
    source: PointSource,
    port: int,
    on_change: Callable[[], Awaitable[None]],
) -> asyncio.Server:
    """Listen on 127.0.0.1:``port`` (0 picks a free port) and apply requests.

    ``on_change`` runs after every accepted force or release, so the new value is
    served at once instead of at the next one-second update.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while line := await reader.readline():
                reply = apply_request(source, line)
                if reply["ok"]:
                    await on_change()
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as err:
            log.warning("control connection closed after an error: %s", err)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, port, limit=MAX_LINE_BYTES)
    return server


def apply_request(source: PointSource, line: bytes) -> dict:
    try:
        request = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return {"ok": False, "error": f"invalid JSON: {err}"}
    if not isinstance(request, dict):
        return {"ok": False, "error": "expected a JSON object"}

    try:
        if "force" in request:
            if "value" not in request:
                raise ValueError("missing 'value' for force")
            source.force(request["force"], request["value"])
        elif "release" in request:
            source.release(request["release"])
        else:
            raise ValueError("unknown request: expected a 'force' or 'release' key")
    except (ValueError, TypeError) as err:
        log.warning("control request rejected: %s", err)
        return {"ok": False, "error": str(err)}
    return {"ok": True}


def send(port: int, message: dict, timeout_s: float = 5.0) -> dict:
    """Send one request to a simulator's control port and return its reply."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as sock:
        sock.sendall(json.dumps(message).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(
                    f"control port {port} closed the connection before replying"
                )
            reply += chunk
    return json.loads(reply)
