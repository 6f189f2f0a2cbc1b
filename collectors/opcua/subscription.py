"""Subscription parameters and the handler that turns each publish into one batch."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext

from asyncua import ua
from asyncua.observer import Observer

from vigie.model import Sample

from collectors.opcua.values import to_sample

log = logging.getLogger(__name__)

# Seconds between the keep-alive publish responses the server sends while no value
# changes. Three missed keep-alives mean the subscription is lost.
KEEPALIVE_S = 5.0
MISSED_KEEPALIVES = 3
# A server deletes a subscription after this many keep-alive periods without a
# publish request from the client.
LIFETIME_KEEPALIVES = 10


def keepalive_count(publishing_interval_ms: float) -> int:
    return max(1, math.ceil(KEEPALIVE_S * 1000.0 / publishing_interval_ms))


def subscription_parameters(
    publishing_interval_ms: float,
) -> ua.CreateSubscriptionParameters:
    params = ua.CreateSubscriptionParameters()
    params.RequestedPublishingInterval = publishing_interval_ms
    params.RequestedMaxKeepAliveCount = keepalive_count(publishing_interval_ms)
    params.RequestedLifetimeCount = (
        LIFETIME_KEEPALIVES * params.RequestedMaxKeepAliveCount
    )
    # 0 means no limit on the notifications in one publish.
    params.MaxNotificationsPerPublish = 0
    params.PublishingEnabled = True
    params.Priority = 0
    return params


def monitored_item_requests(
    node_ids: dict[int, ua.NodeId], sampling_interval_ms: float
) -> list[ua.MonitoredItemCreateRequest]:
    """Build one data-change request per node, keyed by our own client handle.

    QueueSize 1 makes the server report only the latest value of each node per
    publish, the usual choice for a SCADA live value.
    """
    requests = []
    for handle, node_id in node_ids.items():
        parameters = ua.MonitoringParameters()
        parameters.ClientHandle = handle
        parameters.SamplingInterval = sampling_interval_ms
        parameters.QueueSize = 1
        parameters.DiscardOldest = True

        request = ua.MonitoredItemCreateRequest()
        request.ItemToMonitor = ua.ReadValueId(
            NodeId=node_id, AttributeId=ua.AttributeIds.Value
        )
        request.MonitoringMode = ua.MonitoringMode.Reporting
        request.RequestedParameters = parameters
        requests.append(request)
    return requests


class PublishBatcher(Observer):
    """Collects the notifications of one publish response into one batch.

    It is both the subscription handler and the client's observer. asyncua 2.1
    delivers each notification of a publish in its own task, all created in one
    synchronous pass, and then calls the observer's ``on_notification`` once for
    that publish. The flush scheduled there with ``call_soon`` therefore runs after
    every notification task of the same publish and before those of the next one.

    NOTE: this order is how asyncua 2.1 is written, not a documented contract. The
    test test_initial_values_in_one_batch fails if it changes.

    ``on_publish`` receives the batch, empty for a keep-alive. ``lost`` is set with
    ``lost_reason`` when the subscription reports a Bad status, such as BadShutdown
    when the connection drops or BadTimeout when the server deleted it.
    """

    def __init__(
        self,
        device_name: str,
        tags: dict[int, str],
        on_publish: Callable[[list[Sample]], None],
    ) -> None:
        self.device_name = device_name
        self.tags = tags
        self.on_publish = on_publish
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self._pending: list[Sample] = []
        self._loop = asyncio.get_running_loop()

    def datachange_notification(self, node, value, data) -> None:
        item = data.monitored_item
        tag = self.tags.get(item.ClientHandle)
        if tag is None:
            log.debug(
                "device %s: notification for unknown client handle %s",
                self.device_name,
                item.ClientHandle,
            )
            return
        self._pending.append(to_sample(tag, item.Value, time.time()))

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        code = status.Status
        if code is None or not code.is_bad():
            log.info(
                "device %s: subscription status %s",
                self.device_name,
                code.name if code is not None else "None",
            )
            return
        self.lost_reason = f"subscription status {code.name}"
        self.lost.set()

    # Observer hooks.

    def observe_request(self, request):
        return nullcontext()

    def on_notification(self, subscription_id, event_count: int) -> None:
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if self.lost.is_set():
            return
        self.on_publish(batch)
