"""Modbus collector: polls one device (unit id) through its host's shared gateway."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from vigie.config import ModbusDevice
from vigie.model import ConnectionState, DeviceStatus, Quality, Reason, Sample

from collectors.base import (
    Backoff,
    CommLoss,
    Publish,
    RepeatLimiter,
    poll_every,
    wait_or_stop,
)
from collectors.modbus.connection import LinkError, RequestTimeout
from collectors.modbus.counters import CounterCheck
from collectors.modbus.framing import (
    DEVICE_BUSY,
    ILLEGAL_DATA_ADDRESS,
    FrameError,
    ReadReply,
)
from collectors.modbus.gateway import (
    Gateway,
    SentRead,
    acquire_gateway,
    release_gateway,
)
from collectors.modbus.learned_plan import LearnedPlan
from collectors.modbus.planner import ReadRequest, log_plan, split_request
from collectors.modbus.request_decoder import RequestDecoder

log = logging.getLogger(__name__)

# A reply, or the FrameError that stood in for one.
Outcome = ReadReply | FrameError


class ModbusCollector:
    def __init__(
        self,
        device: ModbusDevice,
        publish: Publish,
        status: DeviceStatus,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.publish = publish
        self.status = status
        self.plan = LearnedPlan(device, clock)
        self.comm_loss = CommLoss(device, publish, status)
        self.backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s)
        self.request_log = RepeatLimiter(60.0, clock)
        self.counters = CounterCheck()
        self.gateway: Gateway | None = None
        # id(request) -> (request, its RequestDecoder), built once per request.
        self.decoders: dict[int, tuple[ReadRequest, RequestDecoder]] = {}

    @property
    def requests(self) -> list[ReadRequest]:
        return self.plan.requests

    @property
    def peer(self) -> str:
        device = self.device
        return f"{device.host}:{device.port} unit id {device.unit_id}"

    async def run(self, stop: asyncio.Event) -> None:
        device = self.device
        log.info(
            "device %s: collector started for %s (framing %s, tid_check %s,"
            " accept_any_unit_id %s)",
            device.name,
            self.peer,
            device.framing,
            device.tid_check,
            device.accept_any_unit_id,
        )
        log_plan(device, self.plan.requests)
        self.gateway = acquire_gateway(device)
        try:
            await self._run(stop)
        finally:
            release_gateway(device, self.gateway)
            self.status.set_state(ConnectionState.STOPPED, time.time())
            log.info("device %s: collector stopped", device.name)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await poll_every(
                    stop, self.device.poll_interval_s, self._poll, self.status
                )
            except Exception as err:
                # Anything else is a bug, but one device must not stop the others.
                log.exception("device %s: collector failed", self.device.name)
                self.status.errors += 1
                self.comm_loss.report(f"collector failed: {err!r}")

            if stop.is_set():
                return

            delay = self.backoff.next_delay()
            log.info(
                "device %s: retrying %s in %.2f s (attempt %d) after: %s",
                self.device.name,
                self.peer,
                delay,
                self.backoff.attempts,
                self.status.last_error,
            )
            if await wait_or_stop(stop, delay):
                return
            self.status.reconnects += 1

    async def _poll(self) -> bool:
        """Read every planned request once. Returns False when the device is silent.

        A timed-out request turns only its own tags bad while the device replies to
        other requests. The device counts as lost, and the poll ends, at the first
        timeout of a device that is not connected, at the second timeout in a row,
        or when no request of the poll got a reply.

        Each reply is decoded while the next request is in flight, so the decoding
        overlaps the device's response time. Batches are still published in the
        order of the requests.
        """
        gateway = self.gateway
        if self.plan.reprobe_due(gateway.connections_opened):
            self.plan.reset()
            self.decoders.clear()

        published = 0
        timeouts_in_row = 0
        last_timeout: tuple[RequestTimeout, ReadRequest] | None = None
        # Bad samples of a timed-out request, held until the device is known to be
        # alive. A loss of communication publishes every tag bad instead, once.
        held_bad: list[Sample] = []
        answered = False
        requests = list(self.plan.requests)
        reading: Reading | None = None
        try:
            for index, request in enumerate(requests):
                if reading is None:
                    reading = await self._start_read(request, overlap=False)
                try:
                    outcomes = await reading
                except RequestTimeout as err:
                    reading = None
                    self.status.errors += 1
                    timeouts_in_row += 1
                    if not self.status.connected or timeouts_in_row >= 2:
                        held_bad = []
                        return self._lost(err, request)
                    last_timeout = (err, request)
                    now = time.time()
                    held_bad = self._failed(request, now, Reason.COMM_FAILURE, str(err))
                    continue
                except LinkError as err:
                    reading = None
                    self.status.errors += 1
                    held_bad = []
                    return self._lost(err, request)

                reading = None
                timeouts_in_row = 0
                answered = True
                if held_bad:
                    self.publish(held_bad)
                    published += len(held_bad)
                    held_bad = []
                gateway.report_answer(self.device)
                now = time.time()
                if self.status.state is not ConnectionState.CONNECTED:
                    self.comm_loss.restore(now)
                if index + 1 < len(requests):
                    reading = await self._start_read(requests[index + 1], overlap=True)
                for part, outcome in outcomes:
                    batch = self._samples(part, outcome, now)
                    self.publish(batch)
                    published += len(batch)
        finally:
            if reading is not None:
                _discard(reading)
            if held_bad and answered:
                # The last request timed out while the others got replies.
                self.publish(held_bad)
                published += len(held_bad)
                held_bad = []

        if not answered and last_timeout is not None:
            return self._lost(*last_timeout)

        if self.device.close_after_poll:
            gateway.close_if_idle("closed after the poll: the device allows one master")

        self.status.polls += 1
        self.status.samples += published
        self.status.last_success_ts = time.time()
        self.backoff.reset()
        return True

    async def _start_read(self, request: ReadRequest, overlap: bool) -> Reading:
        """Send ``request`` and return the reading to await for its outcomes.

        The request goes out at once when the gateway has a free slot on an open
        connection. Otherwise, with ``overlap``, a task takes the slot and sends the
        request while the caller decodes the reply before it.
        """
        sent = self.gateway.send(self.device, request)
        if sent is not None:
            return SentReading(self._read_learning(request, sent), sent)
        if not overlap:
            return SentReading(self._read_learning(request), None)

        reading = asyncio.ensure_future(self._read_learning(request))
        try:
            # One pass of the event loop runs the task up to its wait for the reply.
            await asyncio.sleep(0)
        except BaseException:
            # Cancelled before the poll has the task, so the poll cannot stop it.
            reading.cancel()
            raise
        return reading

    def _lost(self, err: LinkError, request: ReadRequest) -> bool:
        self.comm_loss.report(f"{err} (read {request.describe()})")
        if isinstance(err, RequestTimeout):
            self.gateway.report_silent(self.device)
        return False

    async def _read_learning(
        self, request: ReadRequest, sent: SentRead | None = None
    ) -> list[tuple[ReadRequest, Outcome]]:
        """Read ``request``, and isolate the registers of an illegal data address.

        ``sent`` is the request's first attempt when it is already on the wire.
        """
        outcome = await self._exchange(request, sent)
        if not _is_illegal_address(outcome):
            return [(request, outcome)]

        connections = self.gateway.connections_opened
        outcomes = await self._bisect(request)
        self.plan.learn(request, outcomes, connections)
        return outcomes

    async def _bisect(self, request: ReadRequest) -> list[tuple[ReadRequest, Outcome]]:
        halves = split_request(request)
        if halves is None:
            return [(request, ReadReply(None, ILLEGAL_DATA_ADDRESS))]

        outcomes: list[tuple[ReadRequest, Outcome]] = []
        for half in halves:
            outcome = await self._exchange(half)
            if _is_illegal_address(outcome):
                outcomes.extend(await self._bisect(half))
            else:
                outcomes.append((half, outcome))
        return outcomes

    async def _exchange(
        self, request: ReadRequest, sent: SentRead | None = None
    ) -> Outcome:
        """Send one read with its retries. Raises LinkError when they all fail.

        ``sent`` is the first attempt when it is already on the wire.
        """
        # A device already lost gets one attempt, so a dead unit behind a gateway
        # stretches the others' cycle by one timeout only.
        timeouts_left = self.device.retries if self.status.connected else 0
        frame_errors_left = self.device.retries
        busy_left = self.device.busy_retries
        while True:
            try:
                if sent is not None:
                    first, sent = sent, None
                    reply = await self.gateway.wait(self.device, first)
                else:
                    reply = await self.gateway.read(self.device, request)
            except RequestTimeout as err:
                if timeouts_left == 0:
                    raise RequestTimeout(f"{err} ({self.device.timeout_s} s)") from None
                timeouts_left -= 1
                log.debug("device %s: %s, retrying", self.device.name, err)
                continue
            except FrameError as err:
                self.status.errors += 1
                if frame_errors_left == 0:
                    return err
                frame_errors_left -= 1
                log.debug("device %s: %s, retrying", self.device.name, err)
                continue

            if reply.exception_code == DEVICE_BUSY and busy_left > 0:
                busy_left -= 1
                await asyncio.sleep(self.device.busy_retry_delay_ms / 1000.0)
                continue
            return reply

    def _samples(self, request: ReadRequest, outcome: Outcome, now: float) -> list:
        if isinstance(outcome, FrameError):
            return self._failed(request, now, Reason.BAD_FRAME, str(outcome))

        if outcome.values is None:
            code = outcome.exception_code
            reason = (
                Reason.ILLEGAL_ADDRESS
                if code == ILLEGAL_DATA_ADDRESS
                else Reason.DEVICE_ERROR
            )
            self.status.errors += 1
            return self._failed(request, now, reason, f"exception code {code}")

        if self.request_log.holds_any() and self.request_log.clear(request.describe()):
            log.info(
                "device %s: read %s succeeds again",
                self.device.name,
                request.describe(),
            )

        values = outcome.values
        if request.is_bits:
            return [
                Sample(slot.name, now, values[slot.offset]) for slot in request.slots
            ]
        return self._decoder(request).decode(values, now, self.counters)

    def _decoder(self, request: ReadRequest) -> RequestDecoder:
        entry = self.decoders.get(id(request))
        if entry is None or entry[0] is not request:
            decoder = RequestDecoder(request.slots, request.count)
            entry = self.decoders[id(request)] = (request, decoder)
        return entry[1]

    def _failed(
        self, request: ReadRequest, now: float, reason: str, detail: str
    ) -> list[Sample]:
        repeats = self.request_log.check(request.describe(), detail)
        if repeats == 0:
            log.warning(
                "device %s: read %s from %s failed (%s): %s",
                self.device.name,
                request.describe(),
                self.peer,
                reason,
                detail,
            )
        elif repeats is not None:
            log.warning(
                "device %s: read %s from %s still failing (%s): %s; %d more times"
                " since the last message",
                self.device.name,
                request.describe(),
                self.peer,
                reason,
                detail,
                repeats,
            )
        return [
            Sample(slot.name, now, None, Quality.BAD, reason) for slot in request.slots
        ]


class SentReading:
    """Outcomes of a read whose first attempt is on the wire: awaited like a task,
    with no task created for it."""

    __slots__ = ("coroutine", "sent")

    def __init__(self, coroutine, sent: SentRead | None) -> None:
        self.coroutine = coroutine
        self.sent = sent

    def __await__(self):
        return self.coroutine.__await__()

    def discard(self) -> None:
        # Closing a coroutine that never ran does not release its request.
        self.coroutine.close()
        if self.sent is not None:
            self.sent.release()


# Awaitable outcomes of one request in a poll.
Reading = SentReading | asyncio.Future


def _discard(reading: Reading) -> None:
    """Cancel a read that the poll no longer needs, or collect its exception."""
    if isinstance(reading, SentReading):
        reading.discard()
        return
    if not reading.done():
        reading.cancel()
    elif not reading.cancelled():
        reading.exception()


def _is_illegal_address(outcome: Outcome) -> bool:
    return isinstance(outcome, ReadReply) and outcome.exception_code == (
        ILLEGAL_DATA_ADDRESS
    )
