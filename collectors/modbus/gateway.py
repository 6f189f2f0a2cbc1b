"""Gateways: one shared connection per host and port, for every unit id behind it.

Serial gateways and RTUs accept few TCP connections and often one request at a time,
so the devices configured on one host and port share a Gateway. It opens the
connection on demand, limits the requests in flight, pauses between requests when
asked, and drops the connection only when no unit id on it answers any more: one
dead unit behind a gateway must not disturb the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from vigie.config import GATEWAY_KEYS, ModbusDevice

from collectors.modbus.connection import (
    LinkError,
    ModbusConnection,
    Pending,
    RequestTimeout,
    open_connection,
)
from collectors.modbus.framing import READ_FUNCTIONS, ReadReply

log = logging.getLogger(__name__)

# Settings of the shared connection; the configuration check makes every device on
# one host and port agree on them.
GATEWAY_SETTINGS = GATEWAY_KEYS


class RequestSlots:
    """Limit on the requests in flight on one connection, granted in request order.

    Written here because asyncio.Semaphore has no way to take a slot without
    awaiting, and a read sent from synchronous code needs one.
    """

    def __init__(self, limit: int) -> None:
        self.free = limit
        self.waiters: deque[asyncio.Future] = deque()

    def try_take(self) -> bool:
        """Take a slot if one is free and no other request waits for one."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        if self.try_take():
            return

        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            # give() hands its slot over by setting the result.
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()
            elif waiter in self.waiters:
                self.waiters.remove(waiter)
            raise

    def give(self) -> None:
        """Return a slot to the first request still waiting, or to the free count."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class SentRead:
    """A read sent by ``Gateway.send`` and not yet released."""

    __slots__ = ("gateway", "connection", "pending", "released")

    def __init__(
        self, gateway: Gateway, connection: ModbusConnection, pending: Pending
    ) -> None:
        self.gateway = gateway
        self.connection = connection
        self.pending = pending
        self.released = False

    def release(self) -> None:
        """Stop waiting for the reply and free the request slot, once only."""
        if self.released:
            return
        self.released = True
        self.connection.forget(self.pending)
        self.gateway.active -= 1
        self.gateway.slots.give()


class Gateway:
    def __init__(self, device: ModbusDevice, clock=time.monotonic) -> None:
        self.name = f"{device.host}:{device.port}"
        self.host = device.host
        self.port = device.port
        self.framing = device.framing
        self.max_in_flight = device.max_requests_in_flight
        self.pause_s = device.request_pause_ms / 1000.0
        self.connect_timeout_s = device.timeout_s
        # Connect attempts closer together than this return the last failure.
        self.retry_guard_s = device.reconnect_min_s
        self.settings = {key: getattr(device, key) for key in GATEWAY_SETTINGS}
        self.clock = clock

        self.slots = RequestSlots(self.max_in_flight)
        self.connect_lock = asyncio.Lock()
        self.connection: ModbusConnection | None = None
        # Event-loop time until which no RTU request is sent after a timeout, so that
        # a late reply finds nothing in flight instead of the next request.
        self.quiet_until = 0.0
        self.last_failure: tuple[float, LinkError] | None = None
        self.active = 0
        # Largest number of requests in flight seen, for diagnostics and tests.
        self.max_active = 0
        # Counts the connections opened, so that devices notice a reconnect.
        self.connections_opened = 0
        self.devices: set[str] = set()
        self.silent: set[str] = set()

    async def read(self, device: ModbusDevice, request) -> ReadReply:
        """Send one read of ``request`` for ``device`` and return the reply.

        Raises LinkError (RequestTimeout when the unit id is silent) or FrameError.
        """
        await self.slots.take()
        self._count_started()
        try:
            return await self._read(device, request)
        finally:
            self.active -= 1
            try:
                if self.pause_s > 0:
                    await asyncio.sleep(self.pause_s)
            finally:
                self.slots.give()

    def send(self, device: ModbusDevice, request) -> SentRead | None:
        """Send one read now, without waiting, and return it in flight.

        Returns None and sends nothing when the connection is closed, every request
        slot is taken or a pause between requests is set, so the caller uses
        ``read`` instead. The caller passes the result to ``wait`` or releases it.
        """
        connection = self.connection
        if self.pause_s > 0 or connection is None or not connection.is_open:
            return None
        if self.quiet_until and asyncio.get_running_loop().time() < self.quiet_until:
            return None
        if not self.slots.try_take():
            return None

        try:
            pending = connection.send_read(*_read_arguments(device, request))
        except BaseException:
            self.slots.give()
            raise
        self._count_started()
        return SentRead(self, connection, pending)

    async def wait(self, device: ModbusDevice, sent: SentRead) -> ReadReply:
        """Wait for the reply to a read from ``send``, raising as ``read`` does."""
        try:
            return await sent.pending.future
        except RequestTimeout:
            self._on_timeout(device, sent.connection)
            raise
        finally:
            sent.release()

    def _count_started(self) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)

    async def _read(self, device: ModbusDevice, request) -> ReadReply:
        connection = await self._open()
        quiet_s = self.quiet_until - asyncio.get_running_loop().time()
        if quiet_s > 0:
            await asyncio.sleep(quiet_s)
        try:
            return await connection.read(*_read_arguments(device, request))
        except RequestTimeout:
            self._on_timeout(device, connection)
            raise

    def _on_timeout(self, device: ModbusDevice, connection: ModbusConnection) -> None:
        if self.framing == "rtu_over_tcp":
            # Without transaction ids a late reply would pass for the next reply.
            # NOTE: waiting one more timeout is an estimate, so a reply later than
            # that still lands on the next request.
            self.quiet_until = asyncio.get_running_loop().time() + device.timeout_s
            log.debug(
                "gateway %s: unit id %d timed out; next request in %.2f s, after any"
                " late reply",
                self.name,
                device.unit_id,
                device.timeout_s,
            )
            return

        if self.framing == "tcp" and device.tid_check != "strict":
            # Without transaction ids a late reply would pass for the next reply.
            reason = (
                f"unit id {device.unit_id} timed out with tid_check"
                f" {device.tid_check}; connection closed to drop any late reply"
            )
            log.warning("gateway %s: %s", self.name, reason)
            connection.close(reason)

    def report_silent(self, device: ModbusDevice) -> None:
        """Note that ``device`` stopped answering; close when no device answers."""
        self.silent.add(device.name)
        if self.silent >= self.devices and self.connection is not None:
            reason = f"no unit id answers on {self.name}"
            log.warning("gateway %s: %s; closing the connection", self.name, reason)
            self.connection.close(reason)
            self.connection = None

    def report_answer(self, device: ModbusDevice) -> None:
        self.silent.discard(device.name)

    async def _open(self) -> ModbusConnection:
        if self.connection is not None and self.connection.is_open:
            return self.connection

        async with self.connect_lock:
            if self.connection is not None and self.connection.is_open:
                return self.connection

            now = self.clock()
            if self.last_failure is not None:
                failed_at, error = self.last_failure
                if now - failed_at < self.retry_guard_s:
                    raise error

            try:
                self.connection = await open_connection(
                    self.host, self.port, self.framing, self.connect_timeout_s
                )
            except LinkError as err:
                if self.last_failure is None:
                    log.warning("gateway %s: %s", self.name, err)
                self.last_failure = (now, err)
                raise

            self.last_failure = None
            self.connections_opened += 1
            self.silent.clear()
            log.info(
                "gateway %s: connected (%s framing, %d requests in flight at most)",
                self.name,
                self.framing,
                self.max_in_flight,
            )
            return self.connection

    def close_if_idle(self, reason: str) -> None:
        if self.active == 0 and self.connection is not None:
            self.connection.close(reason)
            self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close(f"gateway {self.name} closed")
            self.connection = None
            log.info("gateway %s: connection closed", self.name)


def _read_arguments(device: ModbusDevice, request) -> tuple:
    """Arguments of ModbusConnection.read and send_read for ``request``."""
    return (
        device.unit_id,
        READ_FUNCTIONS[request.kind],
        request.address,
        request.count,
        device.timeout_s,
        device.tid_check,
        device.accept_any_unit_id,
    )


# Gateways of each event loop, by host and port.
_gateways: dict[tuple, Gateway] = {}


def acquire_gateway(device: ModbusDevice) -> Gateway:
    """Return the gateway of the device's host and port, creating it on first use."""
    key = (asyncio.get_running_loop(), device.host, device.port)
    gateway = _gateways.get(key)
    if gateway is None:
        gateway = _gateways[key] = Gateway(device)
    else:
        for setting, value in gateway.settings.items():
            if getattr(device, setting) != value:
                log.warning(
                    "device %s: %s %s ignored because gateway %s uses %s from its"
                    " first device",
                    device.name,
                    setting,
                    getattr(device, setting),
                    gateway.name,
                    value,
                )
    gateway.devices.add(device.name)
    return gateway


def release_gateway(device: ModbusDevice, gateway: Gateway) -> None:
    """Detach the device; the last device to leave closes the connection."""
    gateway.devices.discard(device.name)
    gateway.silent.discard(device.name)
    if gateway.devices:
        return
    gateway.close()
    key = (asyncio.get_running_loop(), device.host, device.port)
    if _gateways.get(key) is gateway:
        del _gateways[key]
