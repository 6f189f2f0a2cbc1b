"""Node ids from the configuration, resolved against a server's namespace array."""

from __future__ import annotations

import logging

from asyncua import ua

from vigie.model import Quality, Reason, Sample

log = logging.getLogger(__name__)


class NodeIdError(ValueError):
    """A configured node id that cannot be resolved on the connected server."""


def resolve_node_id(text: str, namespaces: list[str]) -> ua.NodeId:
    """Turn ``nsu=<uri>;s=<id>``, ``ns=<index>;...`` or ``i=<n>`` into a NodeId.

    ``namespaces`` is the server's current NamespaceArray. A server may renumber its
    namespaces on restart, so a namespace URI must be resolved again on every new
    session. Raises NodeIdError when the URI is not in the array or the id is invalid.
    """
    if text.startswith("nsu="):
        uri, separator, identifier = text[len("nsu=") :].partition(";")
        if not separator or not identifier:
            raise NodeIdError(
                f"invalid node id {text!r}: nothing after the namespace URI"
            )
        try:
            index = namespaces.index(uri)
        except ValueError:
            raise NodeIdError(
                f"namespace {uri!r} not found in the server's namespace array"
            ) from None
        text = f"ns={index};{identifier}"

    try:
        return ua.NodeId.from_string(text)
    except (ValueError, ua.UaStringParsingError) as err:
        raise NodeIdError(f"invalid node id {text!r}: {err}") from None


# Status codes with which a server rejects a node itself rather than its value.
REJECTING_CODES = frozenset(
    {
        ua.StatusCodes.BadNodeIdUnknown,
        ua.StatusCodes.BadNodeIdInvalid,
        ua.StatusCodes.BadAttributeIdInvalid,
        ua.StatusCodes.BadNotReadable,
        ua.StatusCodes.BadMonitoredItemFilterUnsupported,
        ua.StatusCodes.BadFilterNotAllowed,
        ua.StatusCodes.BadDeadbandFilterInvalid,
    }
)


def rejected_reason(status: ua.StatusCode) -> str:
    return f"{Reason.CONFIG_ERROR}:{status.name}"


class NodeTable:
    """The resolved node id of each tag, keyed by client handle (the tag's index).

    ``rejected`` maps the handle of every tag without a usable node to its reason,
    ``config_error:<detail>``. ``log_rejections()`` logs each rejection once and
    each recovery once, so a node that stays rejected does not flood the log.
    """

    def __init__(self, device_name: str, tags, full_names: list[str]) -> None:
        self.device_name = device_name
        self.tags = tags
        self.full_names = full_names
        self.node_ids: dict[int, ua.NodeId] = {}
        self.rejected: dict[int, str] = {}
        self._logged: dict[int, str] = {}

    def resolve(self, namespaces: list[str], handles=None) -> dict[int, ua.NodeId]:
        """Resolve the tags of ``handles`` (default all) and return those resolved."""
        handles = range(len(self.tags)) if handles is None else list(handles)
        resolved = {}
        for handle in handles:
            self.node_ids.pop(handle, None)
            self.rejected.pop(handle, None)
            try:
                node_id = resolve_node_id(self.tags[handle].node, namespaces)
            except NodeIdError as err:
                self.rejected[handle] = f"{Reason.CONFIG_ERROR}:{err}"
                continue
            self.node_ids[handle] = node_id
            resolved[handle] = node_id
        return resolved

    def reject(self, handle: int, reason: str) -> None:
        self.node_ids.pop(handle, None)
        self.rejected[handle] = reason

    def log_rejections(self, endpoint: str) -> None:
        for handle, tag in enumerate(self.tags):
            name = self.full_names[handle]
            reason = self.rejected.get(handle)
            if reason is None:
                if (
                    self._logged.pop(handle, None) is not None
                    and handle in self.node_ids
                ):
                    log.info(
                        "device %s: tag %s node %s accepted again",
                        self.device_name,
                        name,
                        tag.node,
                    )
                continue
            if self._logged.get(handle) == reason:
                continue
            self._logged[handle] = reason
            log.warning(
                "device %s: tag %s node %s rejected by %s: %s",
                self.device_name,
                name,
                tag.node,
                endpoint,
                reason,
            )

    def rejected_samples(self, now: float, handles=None) -> list[Sample]:
        handles = self.rejected if handles is None else handles
        return [
            Sample(self.full_names[h], now, None, Quality.BAD, self.rejected[h])
            for h in handles
            if h in self.rejected
        ]
