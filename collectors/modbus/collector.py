"""Modbus TCP collector: one connection per device, polled at a fixed interval."""

from __future__ import annotations

import asyncio
import logging
import time

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from vigie.config import ModbusDevice
from vigie.model import ConnectionState, DeviceStatus, Quality, Reason, Sample

from collectors.base import Backoff, CommLoss, Publish, poll_every, wait_or_stop
from collectors.modbus.decode import Decoded, decode_registers
from collectors.modbus.planner import ReadRequest, log_plan, plan_requests

log = logging.getLogger(__name__)

# Modbus exception code 02, ILLEGAL DATA ADDRESS.
ILLEGAL_DATA_ADDRESS = 2


class ModbusCollector:
    def __init__(
        self, device: ModbusDevice, publish: Publish, status: DeviceStatus
    ) -> None:
        self.device = device
        self.publish = publish
        self.status = status
        self.requests = plan_requests(device)
        self.comm_loss = CommLoss(device, publish, status)
        self.backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s)
        self.client: AsyncModbusTcpClient | None = None
        # Exception code that each request index currently gets from the device.
        self.request_errors: dict[int, int] = {}

    @property
    def peer(self) -> str:
        device = self.device
        return f"{device.host}:{device.port} unit id {device.unit_id}"

    async def run(self, stop: asyncio.Event) -> None:
        log.info("device %s: collector started for %s", self.device.name, self.peer)
        log_plan(self.device, self.requests)
        try:
            await self._run(stop)
        finally:
            self._close()
            self.status.set_state(ConnectionState.STOPPED, time.time())
            log.info("device %s: collector stopped", self.device.name)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self._connect():
                    await poll_every(
                        stop, self.device.poll_interval_s, self._poll, self.status
                    )
            except Exception as err:
                # Anything else is a bug, but one device must not stop the others.
                log.exception("device %s: collector failed", self.device.name)
                self.status.errors += 1
                self.comm_loss.report(f"collector failed: {err!r}")

            self._close()
            if stop.is_set():
                return

            delay = self.backoff.next_delay()
            log.info(
                "device %s: reconnecting to %s in %.2f s (attempt %d) after: %s",
                self.device.name,
                self.peer,
                delay,
                self.backoff.attempts,
                self.status.last_error,
            )
            if await wait_or_stop(stop, delay):
                return
            self.status.reconnects += 1

    async def _connect(self) -> bool:
        # pymodbus's own reconnect loop (reconnect_delay) and request retries are off:
        # this collector closes the client on any failure and reconnects with Backoff.
        self.client = AsyncModbusTcpClient(
            self.device.host,
            port=self.device.port,
            name=self.device.name,
            timeout=self.device.timeout_s,
            retries=0,
            reconnect_delay=0,
        )
        if not await self.client.connect():
            # NOTE: pymodbus's connect() logs the socket error and returns only
            # False, so last_error cannot say whether it was refused or timed out.
            self.status.errors += 1
            self.comm_loss.report(f"connection to {self.peer} failed")
            return False

        log.info("device %s: connected to %s", self.device.name, self.peer)
        return True

    def _close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def _poll(self) -> bool:
        """Read every planned request once. Returns False when the link failed."""
        published = 0
        for index, request in enumerate(self.requests):
            try:
                response = await self._read(request)
            except (ModbusException, OSError) as err:
                self.status.errors += 1
                self.comm_loss.report(f"read {request.describe()} failed: {err}")
                return False

            now = time.time()
            self.comm_loss.restore(now)
            batch = self._samples(index, request, response, now)
            self.publish(batch)
            published += len(batch)

        self.status.polls += 1
        self.status.samples += published
        self.status.last_success_ts = time.time()
        self.backoff.reset()
        return True

    async def _read(self, request: ReadRequest) -> ModbusPDU:
        assert self.client is not None
        read = {
            "coil": self.client.read_coils,
            "discrete_input": self.client.read_discrete_inputs,
            "holding": self.client.read_holding_registers,
            "input": self.client.read_input_registers,
        }[request.kind]
        return await read(
            request.address, count=request.count, device_id=self.device.unit_id
        )

    def _samples(
        self, index: int, request: ReadRequest, response: ModbusPDU, now: float
    ) -> list[Sample]:
        if response.isError():
            return self._exception_samples(index, request, response, now)

        if index in self.request_errors:
            del self.request_errors[index]
            log.info(
                "device %s: read %s succeeds again",
                self.device.name,
                request.describe(),
            )

        values = response.bits if request.is_bits else response.registers
        if len(values) < request.count:
            self.status.errors += 1
            log.warning(
                "device %s: read %s returned %d values, expected %d",
                self.device.name,
                request.describe(),
                len(values),
                request.count,
            )
            decoded = Decoded(None, Quality.BAD, Reason.BAD_FRAME)
            return [Sample(slot.name, now, *_fields(decoded)) for slot in request.slots]

        batch = []
        for slot in request.slots:
            if request.is_bits:
                decoded = Decoded(bool(values[slot.offset]))
            else:
                registers = values[slot.offset : slot.offset + slot.tag.register_count]
                decoded = decode_registers(slot.tag, registers)
            batch.append(Sample(slot.name, now, *_fields(decoded)))
        return batch

    def _exception_samples(
        self, index: int, request: ReadRequest, response: ModbusPDU, now: float
    ) -> list[Sample]:
        code = response.exception_code
        reason = (
            Reason.ILLEGAL_ADDRESS
            if code == ILLEGAL_DATA_ADDRESS
            else Reason.DEVICE_ERROR
        )
        self.status.errors += 1
        if self.request_errors.get(index) != code:
            self.request_errors[index] = code
            log.warning(
                "device %s: read %s from %s got exception code %d (%s)",
                self.device.name,
                request.describe(),
                self.peer,
                code,
                reason,
            )
        return [
            Sample(slot.name, now, None, Quality.BAD, reason) for slot in request.slots
        ]


def _fields(decoded: Decoded) -> tuple:
    return decoded.value, decoded.quality, decoded.reason
