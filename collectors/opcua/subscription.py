"""Subscription mode: parameters, monitored items and the keep-alive watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from asyncua import ua
from asyncua.client.ua_client import UaClientState

from vigie.config import OpcUaDevice
from vigie.model import Sample

from collectors.opcua.connection import LinkLost, request
from collectors.opcua.node_ids import rejected_reason

log = logging.getLogger(__name__)

# Seconds between the keep-alive publish responses the server sends while no value
# changes, unless max_keepalive_count is configured.
KEEPALIVE_S = 5.0
# A server deletes a subscription after LifetimeCount publishing intervals without a
# Publish request. OPC UA requires at least three keep-alive periods, and the default
# leaves ten.
LIFETIME_KEEPALIVES = 10
MIN_LIFETIME_KEEPALIVES = 3
# The subscription counts as lost when neither a notification nor a keep-alive
# arrived for this many keep-alive periods, using the server's revised values.
WATCHDOG_KEEPALIVES = 1.5


def keepalive_count(publishing_interval_ms: float) -> int:
    return max(1, math.ceil(KEEPALIVE_S * 1000.0 / publishing_interval_ms))


def subscription_parameters(device: OpcUaDevice) -> ua.CreateSubscriptionParameters:
    keepalives = device.max_keepalive_count or keepalive_count(
        device.publishing_interval_ms
    )
    lifetime = device.lifetime_count or LIFETIME_KEEPALIVES * keepalives
    if lifetime < MIN_LIFETIME_KEEPALIVES * keepalives:
        log.warning(
            "device %s: lifetime_count %d is below 3 x max_keepalive_count %d;"
            " requesting %d",
            device.name,
            lifetime,
            keepalives,
            MIN_LIFETIME_KEEPALIVES * keepalives,
        )
        lifetime = MIN_LIFETIME_KEEPALIVES * keepalives

    params = ua.CreateSubscriptionParameters()
    params.RequestedPublishingInterval = device.publishing_interval_ms
    params.RequestedMaxKeepAliveCount = keepalives
    params.RequestedLifetimeCount = lifetime
    # 0 means no limit on the notifications in one publish.
    params.MaxNotificationsPerPublish = 0
    params.PublishingEnabled = True
    params.Priority = 0
    return params


@dataclass(slots=True, frozen=True)
class Revised:
    """The subscription parameters as the server revised them."""

    publishing_interval_ms: float
    max_keepalive_count: int
    lifetime_count: int

    @classmethod
    def of(cls, result: ua.CreateSubscriptionResult) -> Revised:
        return cls(
            float(result.RevisedPublishingInterval),
            int(result.RevisedMaxKeepAliveCount),
            int(result.RevisedLifetimeCount),
        )

    @property
    def keepalive_period_s(self) -> float:
        return self.publishing_interval_ms * self.max_keepalive_count / 1000.0

    @property
    def publish_timeout_s(self) -> float:
        """Seconds without any publish response after which the link counts as lost.

        asyncua 2.1 sends Publish requests with no client timeout and a TimeoutHint
        of 0, so this watchdog is their only bound. It stays above publishing
        interval x keep-alive count, so an idle subscription never trips it.
        """
        return WATCHDOG_KEEPALIVES * self.keepalive_period_s


def data_change_filter(tag) -> ua.DataChangeFilter | None:
    if tag.deadband_absolute is None and tag.deadband_percent is None:
        return None
    change_filter = ua.DataChangeFilter()
    # StatusValue: a change of status alone is reported too.
    change_filter.Trigger = ua.DataChangeTrigger.StatusValue
    if tag.deadband_absolute is not None:
        change_filter.DeadbandType = ua.DeadbandType.Absolute
        change_filter.DeadbandValue = tag.deadband_absolute
    else:
        change_filter.DeadbandType = ua.DeadbandType.Percent
        change_filter.DeadbandValue = tag.deadband_percent
    return change_filter


def monitored_item_requests(
    node_ids: dict[int, ua.NodeId], tags, sampling_interval_ms: float
) -> list[ua.MonitoredItemCreateRequest]:
    """Build one data-change request per node, keyed by our own client handle."""
    requests = []
    for handle, node_id in node_ids.items():
        tag = tags[handle]
        parameters = ua.MonitoringParameters()
        parameters.ClientHandle = handle
        parameters.SamplingInterval = sampling_interval_ms
        parameters.QueueSize = tag.queue_size
        parameters.DiscardOldest = True
        parameters.Filter = data_change_filter(tag)

        item = ua.MonitoredItemCreateRequest()
        item.ItemToMonitor = ua.ReadValueId(
            NodeId=node_id, AttributeId=ua.AttributeIds.Value
        )
        item.MonitoringMode = ua.MonitoringMode.Reporting
        item.RequestedParameters = parameters
        requests.append(item)
    return requests


def chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class PublishHandler:
    """Turns each publish response of one subscription into one batch.

    asyncua's session calls it for every publish response, keep-alives included,
    from its publish loop. It converts every notification of the response in one
    synchronous pass, without a task per notification. ``lost`` is set when the
    subscription reports a Bad status, such as BadTimeout when the server deleted
    it or BadShutdown when asyncua lost the connection.
    """

    def __init__(
        self,
        device_name: str,
        tags: dict[int, str],
        make_sample: Callable[[str, ua.DataValue, float], Sample],
        deliver: Callable[[list[Sample]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device_name = device_name
        self.tags = tags
        self.make_sample = make_sample
        self.deliver = deliver
        self.clock = clock
        self.last_publish_at = clock()
        self.keepalives = 0
        self.lost = asyncio.Event()
        self.lost_reason = ""

    def __call__(self, result: ua.PublishResult) -> None:
        self.last_publish_at = self.clock()
        notifications = result.NotificationMessage.NotificationData
        if not notifications:
            self.keepalives += 1
            self.deliver([])
            return

        received_ts = time.time()
        batch = []
        for notification in notifications:
            if isinstance(notification, ua.DataChangeNotification):
                for item in notification.MonitoredItems:
                    tag = self.tags.get(item.ClientHandle)
                    if tag is not None:
                        batch.append(self.make_sample(tag, item.Value, received_ts))
            elif isinstance(notification, ua.StatusChangeNotification):
                self._status_change(notification.Status)
        if not self.lost.is_set():
            self.deliver(batch)

    def _status_change(self, code: ua.StatusCode | None) -> None:
        if code is None or not code.is_bad():
            log.info(
                "device %s: subscription status %s",
                self.device_name,
                code.name if code is not None else "None",
            )
            return
        self.lost_reason = f"subscription status {code.name}"
        self.lost.set()


class SubscriptionReader:
    """One subscription for the whole session of a collector.

    ``owner`` is the OpcUaCollector: it provides the device, the node table, the
    sample conversion and the delivery of batches.
    """

    def __init__(self, owner, client) -> None:
        self.owner = owner
        self.device: OpcUaDevice = owner.device
        self.client = client
        self.handler: PublishHandler | None = None
        self.subscription_id: int | None = None
        self.revised: Revised | None = None

    async def run(self, reconnected: bool) -> None:
        """Subscribe every resolved tag, then watch the subscription.

        Raises LinkLost.
        """
        owner = self.owner
        tags = {
            handle: owner.full_names[handle] for handle in range(len(owner.nodes.tags))
        }
        self.handler = PublishHandler(
            self.device.name, tags, owner.make_sample, owner.deliver, owner.clock
        )
        result = await request(
            "create subscription",
            self.client.uaclient.create_subscription(
                subscription_parameters(self.device), self.handler
            ),
            self.device.timeout_s,
        )
        self.subscription_id = result.SubscriptionId
        self.revised = Revised.of(result)
        owner.diagnostics["revised_publishing_interval_ms"] = (
            self.revised.publishing_interval_ms
        )
        owner.diagnostics["revised_max_keepalive_count"] = (
            self.revised.max_keepalive_count
        )
        owner.diagnostics["revised_lifetime_count"] = self.revised.lifetime_count
        log.info(
            "device %s: subscription %d, revised publishing interval %g ms,"
            " keep-alive count %d, lifetime count %d; lost after %.1f s of silence",
            self.device.name,
            self.subscription_id,
            self.revised.publishing_interval_ms,
            self.revised.max_keepalive_count,
            self.revised.lifetime_count,
            self.revised.publish_timeout_s,
        )

        await self.monitor(dict(owner.nodes.node_ids), reconnected)
        owner.session_ready()
        await self.watch()

    async def monitor(self, node_ids: dict[int, ua.NodeId], reconnected: bool) -> None:
        """Create the monitored items of ``node_ids`` in batches.

        Right after a reconnect, a server that rejects every node with
        BadNodeIdUnknown has usually not finished loading its address space. That
        triggers one full re-resolution against a fresh namespace array; if every
        node is still unknown, the session fails and the reconnect backoff retries.
        """
        unknown = await self._create_items(node_ids)
        if not (reconnected and node_ids and unknown == len(node_ids)):
            return

        log.warning(
            "device %s: every node rejected with BadNodeIdUnknown after reconnect;"
            " resolving all nodes again",
            self.device.name,
        )
        namespaces = await self.owner.read_namespaces(self.client)
        retry = self.owner.nodes.resolve(namespaces, node_ids)
        unknown = await self._create_items(retry)
        if retry and unknown == len(retry):
            raise LinkLost(
                f"every node rejected with BadNodeIdUnknown after reconnect ({unknown}"
                " nodes); the server's address space is not ready"
            )

    async def _create_items(self, node_ids: dict[int, ua.NodeId]) -> int:
        """Create monitored items; return how many came back BadNodeIdUnknown."""
        nodes = self.owner.nodes
        sampling_ms = self.device.sampling_interval_ms
        if sampling_ms is None:
            sampling_ms = self.device.publishing_interval_ms
        requests = monitored_item_requests(node_ids, nodes.tags, sampling_ms)
        unknown = 0
        for batch in chunks(requests, self.device.max_nodes_per_request):
            parameters = ua.CreateMonitoredItemsParameters()
            parameters.SubscriptionId = self.subscription_id
            parameters.TimestampsToReturn = ua.TimestampsToReturn.Both
            parameters.ItemsToCreate = batch
            results = await request(
                "create monitored items",
                self.client.uaclient.create_monitored_items(parameters),
                self.device.timeout_s,
            )
            for item, result in zip(batch, results, strict=True):
                status = result.StatusCode
                if status.is_good():
                    continue
                handle = item.RequestedParameters.ClientHandle
                nodes.reject(handle, rejected_reason(status))
                if status.value == ua.StatusCodes.BadNodeIdUnknown:
                    unknown += 1
        return unknown

    async def retry_rejected(self) -> None:
        nodes = self.owner.nodes
        handles = list(nodes.rejected)
        namespaces = await self.owner.read_namespaces(self.client)
        resolved = nodes.resolve(namespaces, handles)
        await self._create_items(resolved)
        self.owner.report_retry(handles)

    async def watch(self) -> None:
        """Wait until the subscription fails, then raise LinkLost.

        The subscription counts as lost when asyncua reports a Bad subscription
        status (it does when the socket closes), when the client leaves the
        CONNECTED state, or when no publish response, keep-alives included, arrived
        within the revised keep-alive period x WATCHDOG_KEEPALIVES.
        """
        handler = self.handler
        limit_s = self.revised.publish_timeout_s
        tick_s = min(0.5, limit_s / 4.0)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handler.lost.wait(), timeout=tick_s)
            if handler.lost.is_set():
                raise LinkLost(handler.lost_reason)
            if self.client.uaclient.state is not UaClientState.CONNECTED:
                raise LinkLost(f"connection {self.client.uaclient.state.value}")

            silence_s = self.owner.clock() - handler.last_publish_at
            if silence_s > limit_s:
                raise LinkLost(
                    f"no publish response or keep-alive for {silence_s:.1f} s"
                    f" (limit {limit_s:g} s)"
                )
            self.owner.diagnostics["keepalives"] = handler.keepalives
            if self.owner.retry_due():
                await self.retry_rejected()
