"""One Modbus TCP connection: sends read requests and matches replies to them.

Vigie frames Modbus itself because pymodbus 3.16's client transaction manager holds a
lock per request, always accepts transaction id 0, reads unit id 0 as "any", and
keeps no record of timed-out requests, so late replies and gateway quirks cannot be
handled per device.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections import deque
from dataclasses import dataclass

from collectors.modbus.framing import (
    Frame,
    FrameError,
    ReadReply,
    RtuFrameParser,
    TcpFrameParser,
    encode_rtu,
    encode_tcp,
    parse_read_reply,
    read_pdu,
)

log = logging.getLogger(__name__)

# Transaction ids of timed-out requests remembered to recognise their late replies.
LATE_TIDS_KEPT = 64
# Transaction ids of completed requests remembered to recognise a repeated reply.
ANSWERED_TIDS_KEPT = 16
# Margin within which a deadline counts as reached when the timeout timer runs.
EARLY_S = 0.001


class LinkError(Exception):
    """The connection failed, closed or stayed silent: a communication failure."""


class RequestTimeout(LinkError):
    pass


@dataclass(slots=True)
class Pending:
    tid: int
    unit_id: int
    function: int
    count: int
    tid_check: str
    accept_any_unit_id: bool
    future: asyncio.Future
    # Event-loop time at which the request times out.
    deadline: float


class ModbusConnection(asyncio.Protocol):
    """A client connection with any number of requests in flight, matched by id.

    Replies are matched to requests by transaction id (``tid_check`` strict), also
    by id 0 (zero_ok), or to the oldest request in flight (off, and always for RTU
    framing). A reply to a timed-out request is discarded and logged.
    """

    def __init__(self, name: str, framing: str) -> None:
        self.name = name
        self.framing = framing
        self.parser = (
            RtuFrameParser() if framing == "rtu_over_tcp" else TcpFrameParser()
        )
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, Pending] = {}
        self.late_tids: deque[int] = deque(maxlen=LATE_TIDS_KEPT)
        self.answered_tids: deque[int] = deque(maxlen=ANSWERED_TIDS_KEPT)
        self.next_tid = 0
        self.late_replies = 0
        self.repeated_replies = 0
        self.closed_reason = ""
        # One timer for all requests in flight, due at the earliest deadline, instead
        # of a timer created and cancelled for every request.
        self.watchdog: asyncio.TimerHandle | None = None
        self.watchdog_at = math.inf

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Keep-alive probes find a peer that vanished without closing the socket.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = self.closed_reason or (
            f"connection to {self.name} lost: {exc}"
            if exc
            else f"connection to {self.name} closed by the device"
        )
        self.transport = None
        self._disarm()
        self._fail_all(LinkError(reason))

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.parser.feed(data)
        except FrameError as err:
            self._reject_stream(err)
            return

        for frame in frames:
            self._dispatch(frame)

    # Requests

    async def read(
        self,
        unit_id: int,
        function: int,
        address: int,
        count: int,
        timeout_s: float,
        tid_check: str = "strict",
        accept_any_unit_id: bool = False,
    ) -> ReadReply:
        """Send one read and wait for its reply.

        Raises RequestTimeout when no reply comes within ``timeout_s``, LinkError
        when the connection is closed, and FrameError for a reply that cannot be
        decoded or comes from another unit id.
        """
        pending = self.send_read(
            unit_id, function, address, count, timeout_s, tid_check, accept_any_unit_id
        )
        try:
            return await pending.future
        finally:
            self.forget(pending)

    def send_read(
        self,
        unit_id: int,
        function: int,
        address: int,
        count: int,
        timeout_s: float,
        tid_check: str = "strict",
        accept_any_unit_id: bool = False,
    ) -> Pending:
        """Send one read now and return it in flight. Its future gets the reply.

        The future fails as ``read`` does. The caller awaits it and then passes the
        request to ``forget``, also when it gives up waiting.
        """
        if not self.is_open:
            raise LinkError(f"connection to {self.name} is closed")

        tid = self._next_tid()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        deadline = loop.time() + timeout_s
        pending = Pending(
            tid,
            unit_id,
            function,
            count,
            tid_check,
            accept_any_unit_id,
            future,
            deadline,
        )
        pdu = read_pdu(function, address, count)
        if self.framing == "rtu_over_tcp":
            # Bytes left from an earlier reply would be read as this one's start.
            self.parser.clear()
            frame = encode_rtu(unit_id, pdu)
        else:
            frame = encode_tcp(tid, unit_id, pdu)

        self.pending[tid] = pending
        self.transport.write(frame)
        if deadline < self.watchdog_at:
            self._arm(loop, deadline)
        return pending

    def forget(self, pending: Pending) -> None:
        """Stop waiting for ``pending``: a reply that comes later is discarded."""
        if not pending.future.done():
            pending.future.cancel()
        if self.pending.get(pending.tid) is not pending:
            return

        del self.pending[pending.tid]
        if pending.future.cancelled():
            # Its reply may still come, and is then discarded as late.
            self.late_tids.append(pending.tid)
        else:
            self.answered_tids.append(pending.tid)

    def close(self, reason: str = "") -> None:
        if self.transport is not None:
            self.closed_reason = reason
            self.transport.close()

    def _next_tid(self) -> int:
        # Id 0 is never sent, so that tid_check zero_ok cannot match a wrong request,
        # and an id still in flight is skipped, so that no request replaces another.
        for _ in range(0xFFFF):
            self.next_tid = self.next_tid % 0xFFFF + 1
            if self.next_tid not in self.pending:
                return self.next_tid
        raise LinkError(f"connection to {self.name}: every transaction id in flight")

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.watchdog = loop.call_at(when, self._expire_due)
        self.watchdog_at = when

    def _disarm(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.watchdog = None
        self.watchdog_at = math.inf

    def _expire_due(self) -> None:
        """Time out every request whose deadline has come, and re-arm for the next."""
        self.watchdog = None
        self.watchdog_at = math.inf
        loop = asyncio.get_running_loop()
        # The loop may run a timer up to its clock resolution early.
        now = loop.time() + EARLY_S
        due = [tid for tid, pending in self.pending.items() if pending.deadline <= now]
        for tid in due:
            self._expire(tid)
        waiting = [p.deadline for p in self.pending.values() if not p.future.done()]
        if waiting:
            self._arm(loop, min(waiting))

    def _expire(self, tid: int) -> None:
        pending = self.pending.pop(tid, None)
        if pending is None or pending.future.done():
            return
        self.late_tids.append(tid)
        pending.future.set_exception(
            RequestTimeout(f"no reply from unit id {pending.unit_id} in time")
        )

    # Replies

    def _dispatch(self, frame: Frame) -> None:
        pending = self._match(frame)
        if pending is None or pending.future.done():
            return

        if frame.unit_id != pending.unit_id and not pending.accept_any_unit_id:
            if frame.tid is None:
                log.debug(
                    "%s: discarded an RTU reply from unit id %d while waiting for"
                    " unit id %d",
                    self.name,
                    frame.unit_id,
                    pending.unit_id,
                )
                return
            pending.future.set_exception(
                FrameError(
                    f"reply from unit id {frame.unit_id} to a request for unit id"
                    f" {pending.unit_id}"
                )
            )
            return

        try:
            reply = parse_read_reply(pending.function, pending.count, frame.pdu)
        except FrameError as err:
            pending.future.set_exception(err)
            return
        pending.future.set_result(reply)

    def _match(self, frame: Frame) -> Pending | None:
        oldest = next(iter(self.pending.values()), None)
        if frame.tid is None:
            # NOTE: an RTU reply carries no transaction id, so a reply that a gateway
            # repeats is taken for the reply to the next request in flight when that
            # request has the same unit id, function and count.
            if oldest is None:
                log.info(
                    "%s: discarded an RTU reply with no request in flight", self.name
                )
            return oldest

        pending = self.pending.get(frame.tid)
        if pending is not None:
            return pending

        if oldest is not None and (
            oldest.tid_check == "off"
            or (oldest.tid_check == "zero_ok" and frame.tid == 0)
        ):
            return oldest

        if frame.tid in self.late_tids:
            self.late_replies += 1
            log.info(
                "%s: discarded a late reply with transaction id %d from unit id %d",
                self.name,
                frame.tid,
                frame.unit_id,
            )
            return None

        if frame.tid in self.answered_tids:
            self.repeated_replies += 1
            log.info(
                "%s: discarded a repeated reply with transaction id %d from unit id %d",
                self.name,
                frame.tid,
                frame.unit_id,
            )
            return None

        if oldest is not None and len(self.pending) == 1:
            # With one request in flight, a reply with an unknown id is its wrong echo.
            oldest.future.set_exception(
                FrameError(
                    f"reply transaction id 0x{frame.tid:04x} does not match the"
                    f" request's 0x{oldest.tid:04x}"
                )
            )
            return None

        log.warning(
            "%s: discarded a reply with unknown transaction id %d", self.name, frame.tid
        )
        return None

    def _reject_stream(self, err: FrameError) -> None:
        """Fail the requests in flight with ``err``; a TCP stream is also dropped."""
        log.warning("%s: malformed reply: %s", self.name, err)
        if self.framing == "rtu_over_tcp":
            for pending in self.pending.values():
                if not pending.future.done():
                    pending.future.set_exception(FrameError(str(err)))
            return

        # An MBAP header that makes no sense leaves no way to find the next frame.
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_exception(FrameError(str(err)))
        self.close(f"connection to {self.name} reset after a malformed reply")

    def _fail_all(self, err: Exception) -> None:
        for pending in list(self.pending.values()):
            if not pending.future.done():
                pending.future.set_exception(err)
        self.pending.clear()


async def open_connection(
    host: str, port: int, framing: str, timeout_s: float
) -> ModbusConnection:
    """Connect to ``host``:``port``. Raises LinkError naming the address."""
    name = f"{host}:{port}"
    loop = asyncio.get_running_loop()
    try:
        _, connection = await asyncio.wait_for(
            loop.create_connection(lambda: ModbusConnection(name, framing), host, port),
            timeout=timeout_s,
        )
    except TimeoutError:
        raise LinkError(f"connection to {name} timed out after {timeout_s} s") from None
    except ConnectionRefusedError:
        raise LinkError(f"connection to {name} refused") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise LinkError(f"connection to {name} failed: {reason}") from None
    return connection
