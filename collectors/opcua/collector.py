"""OPC UA collector: one client session per device, by subscription or polling."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from asyncua import Client, ua

from vigie.config import OpcUaDevice
from vigie.model import ConnectionState, DeviceStatus, Quality, Sample

from collectors.base import Backoff, CommLoss, Publish, wait_or_stop
from collectors.opcua.connection import LinkLost, connect, disconnect_quiet, request
from collectors.opcua.node_ids import NodeTable
from collectors.opcua.polling import PollingReader
from collectors.opcua.subscription import SubscriptionReader
from collectors.opcua.values import convert

log = logging.getLogger(__name__)

NAMESPACE_ARRAY = ua.NodeId(ua.ObjectIds.Server_NamespaceArray)


class OpcUaCollector:
    def __init__(
        self,
        device: OpcUaDevice,
        publish: Publish,
        status: DeviceStatus,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.publish = publish
        self.status = status
        self.clock = clock
        self.comm_loss = CommLoss(device, publish, status)
        self.backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s)
        self.full_names = [f"{device.name}.{tag.name}" for tag in device.tags]
        self.nodes = NodeTable(device.name, device.tags, self.full_names)
        # Declared data type of each tag that has one, by full tag name.
        self.declared_types = {
            name: tag.type
            for name, tag in zip(self.full_names, device.tags)
            if tag.type is not None
        }
        self.client: Client | None = None
        self.reader: SubscriptionReader | PollingReader | None = None
        # Counters and flags shown with the device status: clock_skew, keepalives,
        # the revised subscription parameters.
        self.diagnostics: dict[str, object] = {"clock_skew": 0}
        # True once a session delivered at least one node, so that a later session
        # in which the server rejects every node is known to follow a restart.
        self.had_nodes = False
        self._next_retry_at = 0.0
        self._published_rejections: dict[int, str] = {}
        # Quality and reason of the last sample of each tag, to log transitions.
        self._tag_states: dict[str, tuple[Quality, str]] = {}

    @property
    def endpoint(self) -> str:
        return self.device.endpoint

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "device %s: collector started for %s, %d tags, %s mode",
            self.device.name,
            self.endpoint,
            len(self.device.tags),
            self.device.mode,
        )
        try:
            await self._run(stop)
        finally:
            await disconnect_quiet(self.client, self.device)
            self.client = None
            self.status.set_state(ConnectionState.STOPPED, time.time())
            log.info("device %s: collector stopped", self.device.name)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            error = await self._session_until_stop(stop)
            await disconnect_quiet(self.client, self.device)
            self.client = None
            if stop.is_set():
                return

            self.status.errors += 1
            self.comm_loss.report(error)
            delay = self.backoff.next_delay()
            log.info(
                "device %s: %s; reconnecting to %s with a new client in %.2f s"
                " (attempt %d)",
                self.device.name,
                error,
                self.endpoint,
                delay,
                self.backoff.attempts,
            )
            if await wait_or_stop(stop, delay):
                return
            self.status.reconnects += 1

    async def _session_until_stop(self, stop: asyncio.Event) -> str:
        """Run one session until it fails or ``stop`` is set. Returns the error."""
        session = asyncio.create_task(
            self._session(), name=f"opcua-session-{self.device.name}"
        )
        stopped = asyncio.create_task(
            stop.wait(), name=f"opcua-stop-{self.device.name}"
        )
        try:
            await asyncio.wait({session, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (session, stopped):
                task.cancel()
            await asyncio.gather(session, stopped, return_exceptions=True)

        if stop.is_set():
            return ""
        if session.cancelled():
            return "session cancelled"
        error = session.exception()
        if error is None:
            return "session ended without an error"
        if isinstance(error, LinkLost):
            return str(error)
        # Anything else is a bug, but one device must not stop the others.
        log.error(
            "device %s: collector failed",
            self.device.name,
            exc_info=(type(error), error, error.__traceback__),
        )
        return f"collector failed: {error!r}"

    async def _session(self) -> None:
        """Connect a new client, resolve every tag and read until the link fails.

        Every session starts from nothing: a new Client, the namespace array read
        again (a restarted server may renumber its namespaces), every node id
        resolved again and a new subscription. Raises LinkLost.
        """
        self.client = await connect(self.device)
        namespaces = await self.read_namespaces(self.client)
        self.nodes.resolve(namespaces)
        self._published_rejections = {}

        if self.device.mode == "polling":
            self.reader = PollingReader(self, self.client)
        else:
            self.reader = SubscriptionReader(self, self.client)
        await self.reader.run(reconnected=self.had_nodes)

    async def read_namespaces(self, client: Client) -> list[str]:
        node = client.get_node(NAMESPACE_ARRAY)
        return await request(
            "read namespace array", node.read_value(), self.device.timeout_s
        )

    def session_ready(self) -> None:
        """Mark the device connected once its nodes are subscribed or read."""
        nodes = self.nodes
        accepted = len(nodes.node_ids)
        log.info(
            "device %s: connected to %s, %d of %d tags accepted",
            self.device.name,
            self.endpoint,
            accepted,
            len(self.device.tags),
        )
        if accepted:
            self.had_nodes = True
        # Every tag was stored bad for the lost session, so the first sample of each
        # in this one is news, even a bad one in the same state as before.
        self._tag_states.clear()
        self.comm_loss.restore()
        self.backoff.reset()
        self._next_retry_at = self.clock() + self.device.rejected_node_retry_s
        self.publish_rejections()

    def publish_rejections(self) -> None:
        """Publish a Bad sample for each tag newly rejected in this session."""
        nodes = self.nodes
        nodes.log_rejections(self.endpoint)
        changed = [
            handle
            for handle, reason in nodes.rejected.items()
            if self._published_rejections.get(handle) != reason
        ]
        for handle in list(self._published_rejections):
            if handle not in nodes.rejected:
                del self._published_rejections[handle]
        if not changed:
            return
        for handle in changed:
            self._published_rejections[handle] = nodes.rejected[handle]
        self.publish(nodes.rejected_samples(time.time(), changed))

    def retry_due(self) -> bool:
        return bool(self.nodes.rejected) and self.clock() >= self._next_retry_at

    def report_retry(self, handles: list[int]) -> None:
        self._next_retry_at = self.clock() + self.device.rejected_node_retry_s
        still = sum(1 for handle in handles if handle in self.nodes.rejected)
        log.info(
            "device %s: retried %d rejected nodes, %d still rejected",
            self.device.name,
            len(handles),
            still,
        )
        self.publish_rejections()

    def make_sample(
        self, tag: str, data_value: ua.DataValue, received_ts: float
    ) -> Sample:
        sample, stamp = convert(
            tag,
            data_value,
            received_ts,
            self.device.timestamp,
            self.declared_types.get(tag),
        )
        if stamp.clock_skew:
            self._report_clock_skew(tag, data_value)
        return sample

    def _report_clock_skew(self, tag: str, data_value: ua.DataValue) -> None:
        count = self.diagnostics["clock_skew"]
        self.diagnostics["clock_skew"] = count + 1
        if count == 0:
            log.warning(
                "device %s: clock skew: tag %s source time %s differs from server"
                " time %s by more than 5 minutes; using server time",
                self.device.name,
                tag,
                data_value.SourceTimestamp,
                data_value.ServerTimestamp,
            )
        diagnostics = getattr(self.status, "diagnostics", None)
        if diagnostics is not None:
            diagnostics["clock_skew"] = count + 1

    def deliver(self, batch: list[Sample]) -> None:
        """Count one publish response or poll and publish its samples.

        A BAD sample that repeats its tag's quality and reason is dropped, so a node
        that stays bad is stored once per change of its state. Without this, polling
        would store it at every poll, and a subscription at every change of a value
        of the wrong type.
        """
        self.status.polls += 1
        self.status.last_success_ts = time.time()
        batch = self._drop_repeated_bad(batch)
        if not batch:
            return
        self.status.samples += len(batch)
        self.publish(batch)

    def _drop_repeated_bad(self, batch: list[Sample]) -> list[Sample]:
        """Return the batch without repeated BAD samples, logging quality changes."""
        kept = []
        for sample in batch:
            state = (sample.quality, sample.reason)
            previous = self._tag_states.get(sample.tag)
            if previous == state:
                if state[0] is not Quality.BAD:
                    kept.append(sample)
                continue
            kept.append(sample)
            self._tag_states[sample.tag] = state
            if previous is None and state[0] is Quality.GOOD:
                continue
            level = logging.INFO if state[0] is Quality.GOOD else logging.WARNING
            log.log(
                level,
                "device %s: tag %s quality %s %s",
                self.device.name,
                sample.tag,
                sample.quality.name,
                sample.reason,
            )
        return kept
