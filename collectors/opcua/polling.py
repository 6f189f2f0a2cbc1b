"""Polling mode: batched Read calls of every resolved node at poll_interval_s."""

from __future__ import annotations

import asyncio
import logging
import time

from asyncua import ua

from vigie.config import OpcUaDevice
from vigie.model import Sample

from collectors.opcua.connection import LinkLost, request
from collectors.opcua.node_ids import REJECTING_CODES, rejected_reason
from collectors.opcua.subscription import chunks

log = logging.getLogger(__name__)


def read_parameters(node_ids: list[ua.NodeId]) -> ua.ReadParameters:
    parameters = ua.ReadParameters()
    parameters.MaxAge = 0
    parameters.TimestampsToReturn = ua.TimestampsToReturn.Both
    parameters.NodesToRead = [
        ua.ReadValueId(NodeId=node_id, AttributeId=ua.AttributeIds.Value)
        for node_id in node_ids
    ]
    return parameters


class PollingReader:
    """Reads every resolved node each ``poll_interval_s`` in batched Read requests.

    Each poll delivers one batch of every node read, and the collector drops a Bad
    value whose quality and reason did not change. A node the server rejects
    (BadNodeIdUnknown and the like) leaves the read list until the next retry.
    """

    def __init__(self, owner, client) -> None:
        self.owner = owner
        self.device: OpcUaDevice = owner.device
        self.client = client

    async def run(self, reconnected: bool) -> None:
        owner = self.owner
        owner.session_ready()
        first = True
        next_tick = time.monotonic()
        while True:
            await self.poll(reconnected and first)
            first = False
            if owner.retry_due():
                await self.retry_rejected()

            next_tick += self.device.poll_interval_s
            now = time.monotonic()
            if now > next_tick:
                missed = int((now - next_tick) // self.device.poll_interval_s) + 1
                owner.status.skipped_polls += missed
                next_tick += missed * self.device.poll_interval_s
            await asyncio.sleep(next_tick - now)

    async def poll(self, after_reconnect: bool = False) -> None:
        """Read every resolved node once and deliver one batch. Raises LinkLost."""
        samples, unknown = await self._read(dict(self.owner.nodes.node_ids))
        total = len(samples) + unknown
        if after_reconnect and total and unknown == total:
            log.warning(
                "device %s: every node read BadNodeIdUnknown after reconnect;"
                " resolving all nodes again",
                self.device.name,
            )
            handles = list(self.owner.nodes.rejected)
            namespaces = await self.owner.read_namespaces(self.client)
            retry = self.owner.nodes.resolve(namespaces, handles)
            samples, unknown = await self._read(retry)
            if retry and unknown == len(retry):
                raise LinkLost(
                    f"every node read BadNodeIdUnknown after reconnect ({unknown}"
                    " nodes); the server's address space is not ready"
                )
        self.owner.deliver(samples)

    async def _read(self, node_ids: dict[int, ua.NodeId]) -> tuple[list[Sample], int]:
        """Read ``node_ids``; return the samples to deliver and the unknown count."""
        owner = self.owner
        handles = list(node_ids)
        samples: list[Sample] = []
        unknown = 0
        for batch in chunks(handles, self.device.max_nodes_per_request):
            parameters = read_parameters([node_ids[h] for h in batch])
            results = await request(
                "read", self.client.uaclient.read(parameters), self.device.timeout_s
            )
            received_ts = time.time()
            for handle, data_value in zip(batch, results, strict=True):
                status = data_value.StatusCode or ua.StatusCode()
                if status.value in REJECTING_CODES:
                    owner.nodes.reject(handle, rejected_reason(status))
                    if status.value == ua.StatusCodes.BadNodeIdUnknown:
                        unknown += 1
                    continue
                tag = owner.full_names[handle]
                sample = owner.make_sample(tag, data_value, received_ts)
                samples.append(sample)
        owner.publish_rejections()
        return samples, unknown

    async def retry_rejected(self) -> None:
        nodes = self.owner.nodes
        handles = list(nodes.rejected)
        namespaces = await self.owner.read_namespaces(self.client)
        nodes.resolve(namespaces, handles)
        self.owner.report_retry(handles)
