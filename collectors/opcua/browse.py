"""Browse an OPC UA server's address space for tag entries of config.yaml."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from asyncua import Client, Node, ua

from collectors.opcua.node_ids import resolve_node_id

log = logging.getLogger(__name__)

OBJECTS = "i=85"


@dataclass(slots=True, frozen=True)
class FoundVariable:
    path: tuple[str, ...]
    node: str
    data_type: str
    unit: str


def tag_name(path: tuple[str, ...]) -> str:
    """Derive a config tag name from a browse path.

    Words are split at punctuation and at lower-to-upper case changes, so that
    ``Quality/ChlorineResidual`` becomes ``quality_chlorine_residual``.
    """
    words = []
    for part in path:
        part = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", part)
        words.append(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_"))
    name = "_".join(word for word in words if word).lower()
    if not name or not name[0].isalpha():
        name = f"tag_{name}"
    return name


def node_text(node_id: ua.NodeId, namespaces: list[str]) -> str:
    """Write a node id by namespace URI (nsu=...), or plainly in namespace 0."""
    text = node_id.to_string()
    if node_id.NamespaceIndex == 0:
        return text
    identifier = text.split(";", 1)[1]
    return f"nsu={namespaces[node_id.NamespaceIndex]};{identifier}"


async def data_type_name(client: Client, node: Node) -> str:
    data_type = await node.read_data_type()
    if data_type.NamespaceIndex == 0 and isinstance(data_type.Identifier, int):
        return ua.ObjectIdNames.get(data_type.Identifier, data_type.to_string())
    name = await client.get_node(data_type).read_browse_name()
    return name.Name


async def engineering_unit(node: Node) -> str:
    try:
        units = await node.get_child("0:EngineeringUnits")
        info = await units.read_value()
    except ua.UaError:
        return ""
    if info is None or info.DisplayName is None:
        return ""
    return info.DisplayName.Text or ""


async def browse_variables(
    client: Client, root: str = OBJECTS, depth: int = 5
) -> list[FoundVariable]:
    """Return every variable up to ``depth`` levels below ``root``, in browse order.

    From the Objects folder, the standard Server object (namespace 0) is skipped.
    Raises NodeIdError when ``root`` cannot be resolved on this server.
    """
    namespaces = await client.get_namespace_array()
    found: list[FoundVariable] = []
    root_node = client.get_node(resolve_node_id(root, namespaces))
    await _browse(client, root_node, (), depth, namespaces, found, root == OBJECTS)
    return found


async def _browse(client, node, path, depth, namespaces, found, skip_standard):
    if depth <= 0:
        return
    children = await node.get_children(
        refs=ua.ObjectIds.HierarchicalReferences,
        nodeclassmask=ua.NodeClass.Object | ua.NodeClass.Variable,
    )
    for child in children:
        if skip_standard and child.nodeid.NamespaceIndex == 0:
            continue
        browse_name = (await child.read_browse_name()).Name
        child_path = (*path, browse_name)
        node_class = await child.read_node_class()
        if node_class == ua.NodeClass.Variable:
            found.append(
                FoundVariable(
                    child_path,
                    node_text(child.nodeid, namespaces),
                    await data_type_name(client, child),
                    await engineering_unit(child),
                )
            )
            continue
        await _browse(client, child, child_path, depth - 1, namespaces, found, False)


# Tag type of each OPC UA built-in data type that has one; other types get none.
TAG_TYPES = {
    "Boolean": "bool",
    **dict.fromkeys(
        ("SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64"),
        "int",
    ),
    "Float": "float",
    "Double": "float",
    "String": "string",
    "LocalizedText": "string",
}


def yaml_entries(variables: list[FoundVariable]) -> list[str]:
    """Format one config.yaml tag entry per variable, with its data type as comment."""
    lines = []
    for variable in variables:
        lines.append(f"      ## {'/'.join(variable.path)} ({variable.data_type})")
        entry = f'      - {{name: {tag_name(variable.path)}, node: "{variable.node}"'
        tag_type = TAG_TYPES.get(variable.data_type)
        if tag_type is not None:
            entry += f", type: {tag_type}"
        if variable.unit:
            entry += f", unit: {variable.unit}"
        lines.append(entry + "}")
    return lines
