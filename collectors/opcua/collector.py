"""OPC UA collector: one client session and one subscription per device."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState

from vigie.config import OpcUaDevice
from vigie.model import ConnectionState, DeviceStatus, Quality, Reason, Sample

from collectors.base import Backoff, CommLoss, Publish, wait_or_stop
from collectors.opcua.node_ids import NodeIdError, resolve_node_id
from collectors.opcua.subscription import (
    KEEPALIVE_S,
    MISSED_KEEPALIVES,
    PublishBatcher,
    monitored_item_requests,
    subscription_parameters,
)

log = logging.getLogger(__name__)

# asyncua 2.1's connection supervisor reads ServerState every watchdog interval and
# waits at most that interval for the response. With its 1 s default, a busy server
# that answers late is taken for lost. The collector's own probe decides instead,
# with the device's timeout_s, so the supervisor's interval is set far above it.
ASYNCUA_WATCHDOG_S = 60.0
# asyncua's connect() is a TCP connect and four requests: hello, open secure
# channel, create session and activate session.
CONNECT_REQUESTS = 5
CURRENT_TIME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)


class LinkLost(Exception):
    """The session to the device failed. The message names the step and the cause."""


class OpcUaCollector:
    def __init__(
        self, device: OpcUaDevice, publish: Publish, status: DeviceStatus
    ) -> None:
        self.device = device
        self.publish = publish
        self.status = status
        self.comm_loss = CommLoss(device, publish, status)
        self.backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s)
        self.full_names = [f"{device.name}.{tag.name}" for tag in device.tags]
        self.client: Client | None = None
        # Reason last logged for each tag that could not be subscribed.
        self.node_errors: dict[str, str] = {}
        # Quality and reason of the last sample of each tag, to log transitions.
        self.tag_states: dict[str, tuple[Quality, str]] = {}

    @property
    def endpoint(self) -> str:
        return self.device.endpoint

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "device %s: collector started for %s, %d tags, publishing interval %g ms",
            self.device.name,
            self.endpoint,
            len(self.device.tags),
            self.device.publishing_interval_ms,
        )
        try:
            await self._run(stop)
        finally:
            await self._disconnect_quiet()
            self.status.set_state(ConnectionState.STOPPED, time.time())
            log.info("device %s: collector stopped", self.device.name)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            error = await self._session_until_stop(stop)
            await self._disconnect_quiet()
            if stop.is_set():
                return

            self.status.errors += 1
            self.comm_loss.report(error)
            delay = self.backoff.next_delay()
            log.info(
                "device %s: %s; reconnecting to %s in %.2f s (attempt %d)",
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
        """Connect, subscribe every tag and supervise the link. Raises LinkLost."""
        # NOTE: no security policy is set, so the session is neither signed nor
        # encrypted (SecurityPolicy None).
        self.client = Client(
            self.endpoint,
            timeout=self.device.timeout_s,
            watchdog_intervall=ASYNCUA_WATCHDOG_S,
        )
        await self._request(
            "connect",
            self.client.connect(),
            timeout=CONNECT_REQUESTS * self.device.timeout_s,
        )
        namespaces = await self._request(
            "read namespace array", self.client.get_namespace_array()
        )

        node_ids, failed = self._resolve(namespaces)
        tags = {handle: self.full_names[handle] for handle in node_ids}
        batcher = PublishBatcher(self.device.name, tags, self._on_publish)
        self.client.uaclient.observer = batcher
        subscription = await self._request(
            "create subscription",
            self.client.create_subscription(
                subscription_parameters(self.device.publishing_interval_ms), batcher
            ),
        )
        requests = monitored_item_requests(
            node_ids, self.device.publishing_interval_ms
        )
        # With no node id resolved there is nothing to monitor, but the subscription
        # still carries keep-alives, which count as successful publishes.
        results = []
        if requests:
            results = await self._request(
                "create monitored items", subscription.create_monitored_items(requests)
            )
        for handle, result in zip(node_ids, results, strict=True):
            if isinstance(result, ua.StatusCode):
                failed[handle] = f"{Reason.CONFIG_ERROR}:{result.name}"

        self._report_node_errors(failed)
        log.info(
            "device %s: connected to %s, %d of %d tags subscribed",
            self.device.name,
            self.endpoint,
            len(self.device.tags) - len(failed),
            len(self.device.tags),
        )
        self.comm_loss.restore()
        self.backoff.reset()
        if failed:
            now = time.time()
            self.publish(
                [
                    Sample(self.full_names[handle], now, None, Quality.BAD, reason)
                    for handle, reason in failed.items()
                ]
            )

        await self._supervise(subscription, batcher)

    def _resolve(
        self, namespaces: list[str]
    ) -> tuple[dict[int, ua.NodeId], dict[int, str]]:
        """Resolve every tag's node id, keyed by client handle (the tag's position)."""
        node_ids: dict[int, ua.NodeId] = {}
        failed: dict[int, str] = {}
        for handle, tag in enumerate(self.device.tags):
            try:
                node_ids[handle] = resolve_node_id(tag.node, namespaces)
            except NodeIdError as err:
                failed[handle] = f"{Reason.CONFIG_ERROR}:{err}"
        return node_ids, failed

    def _report_node_errors(self, failed: dict[int, str]) -> None:
        """Log each tag that could not be subscribed once, and once when it recovers."""
        for handle, tag in enumerate(self.device.tags):
            name = self.full_names[handle]
            reason = failed.get(handle)
            if reason is None:
                if self.node_errors.pop(name, None) is not None:
                    log.info(
                        "device %s: tag %s subscribed again", self.device.name, name
                    )
                continue
            if self.node_errors.get(name) == reason:
                continue
            self.node_errors[name] = reason
            log.warning(
                "device %s: tag %s node %s rejected by %s: %s",
                self.device.name,
                name,
                tag.node,
                self.endpoint,
                reason,
            )

    async def _supervise(self, subscription, batcher: PublishBatcher) -> None:
        """Watch the session until it fails, then raise LinkLost.

        Every ``poll_interval_s`` the probe reads the server's CurrentTime, bounded by
        ``timeout_s``. The subscription counts as lost after MISSED_KEEPALIVES
        keep-alive periods without any publish response, and at once when asyncua
        reports a Bad subscription status, which it does when the socket closes.
        """
        assert self.client is not None
        silence_limit_s = MISSED_KEEPALIVES * max(
            KEEPALIVE_S, self.device.publishing_interval_ms / 1000.0
        )
        started = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    batcher.lost.wait(), timeout=self.device.poll_interval_s
                )
            if batcher.lost.is_set():
                raise LinkLost(batcher.lost_reason)
            if self.client.uaclient.state is not UaClientState.CONNECTED:
                raise LinkLost(f"connection {self.client.uaclient.state.value}")

            last_publish = subscription.last_publish_at or started
            silence_s = time.monotonic() - last_publish
            if silence_s > silence_limit_s:
                raise LinkLost(f"no publish response for {silence_s:.1f} s")

            await self._request(
                "read CurrentTime", self.client.get_node(CURRENT_TIME).read_value()
            )

    def _on_publish(self, batch: list[Sample]) -> None:
        self.status.polls += 1
        self.status.last_success_ts = time.time()
        if not batch:
            return
        self.status.samples += len(batch)
        self._log_quality_changes(batch)
        self.publish(batch)

    def _log_quality_changes(self, batch: list[Sample]) -> None:
        for sample in batch:
            state = (sample.quality, sample.reason)
            previous = self.tag_states.get(sample.tag)
            self.tag_states[sample.tag] = state
            if previous == state or (previous is None and state[0] is Quality.GOOD):
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

    async def _request(self, step: str, request: Awaitable, timeout: float = 0.0):
        """Await one request to the server, bounded by ``timeout`` or ``timeout_s``."""
        timeout = timeout or self.device.timeout_s
        try:
            return await asyncio.wait_for(request, timeout=timeout)
        except TimeoutError:
            raise LinkLost(f"{step} timed out after {timeout:g} s") from None
        except (OSError, ua.UaError) as err:
            detail = str(err) or type(err).__name__
            raise LinkLost(f"{step} failed: {detail}") from err

    async def _disconnect_quiet(self) -> None:
        """Close the session within ``timeout_s``, then the socket in any case."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), timeout=self.device.timeout_s)
        except Exception as err:
            # The session is being dropped anyway; the socket is closed below.
            log.debug("device %s: disconnect failed: %r", self.device.name, err)
        client.disconnect_socket()
