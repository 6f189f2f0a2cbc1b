"""Node ids from the configuration, resolved against a server's namespace array."""

from __future__ import annotations

from asyncua import ua


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
