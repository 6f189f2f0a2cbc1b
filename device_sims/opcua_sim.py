"""OPC UA simulator: an asyncua server whose variables follow the model's points.

Each tag's node id sets the variable's namespace and string id. A string id with
``/`` separators is placed in a folder tree: ``s=Filters/Filter1/Backwash`` becomes
folder ``Filters`` (id ``Filters``), folder ``Filter1`` (id ``Filters/Filter1``) and
variable ``Backwash``. Security is None only, without certificates.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from asyncua import Node, Server, ua

from device_sims.points import PointSource
from vigie.config import OpcUaDevice

log = logging.getLogger(__name__)

NODE_ID = re.compile(
    r"^(?:ns=(?P<index>\d+);|nsu=(?P<uri>[^;]+);)?(?P<kind>[isgb])=(?P<id>.+)$"
)
# Writes between yields to the event loop, so the server keeps publishing.
WRITES_PER_YIELD = 200


@dataclass(slots=True)
class Variable:
    tag: str
    node_id: ua.NodeId
    variant_type: ua.VariantType


class OpcUaSimulator:
    def __init__(self, device: OpcUaDevice, source: PointSource) -> None:
        self.device = device
        self.source = source
        self.server: Server | None = None
        self.variables: list[Variable] = []
        self.folders: dict[tuple[int, str], Node] = {}

    async def start(self) -> None:
        server = Server()
        # Loading the standard address space takes seconds and is most of start-up.
        await server.init()
        server.set_endpoint(self.device.endpoint)
        server.set_server_name(f"Vigie simulator {self.device.name}")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        self.server = server

        initial = self.source.read(time.time())
        skipped = []
        for tag in self.device.tags:
            if not await self._add_variable(tag.name, tag.node, initial, tag.unit):
                skipped.append(tag.name)
        if skipped:
            log.warning(
                "%s: tags %s use node ids other than s= or i= and are not served",
                self.device.name,
                ", ".join(skipped),
            )
        unknown = [tag.name for tag in self.device.tags if tag.name not in initial]
        if unknown:
            log.warning(
                "%s: tags %s have no point in the %s model and read as 0.0",
                self.device.name,
                ", ".join(unknown),
                self.source.simulator,
            )

        await server.start()
        await self.refresh()

    async def _add_variable(
        self, tag: str, node: str, initial: dict, unit: str = ""
    ) -> bool:
        match = NODE_ID.match(node)
        if match is None or match["kind"] not in "is":
            return False
        if match["uri"] is not None:
            index = await self.server.register_namespace(match["uri"])
        else:
            index = int(match["index"] or 0)
            await self._reserve_namespace(index)

        value = initial.get(tag, 0.0)
        if isinstance(value, bool):
            variant_type = ua.VariantType.Boolean
        else:
            variant_type = ua.VariantType.Double
        if match["kind"] == "i":
            node_id = ua.NodeId(int(match["id"]), index)
            parent, name = self.server.nodes.objects, match["id"]
        else:
            node_id = ua.NodeId(match["id"], index)
            path, _, name = match["id"].rpartition("/")
            parent = await self._folder(index, path)

        variable = await parent.add_variable(
            node_id,
            ua.QualifiedName(name, index),
            ua.Variant(value, variant_type),
            varianttype=variant_type,
        )
        if unit:
            await self._add_engineering_unit(variable, unit)
        self.variables.append(Variable(tag, variable.nodeid, variant_type))
        return True

    async def _add_engineering_unit(self, variable: Node, unit: str) -> None:
        # The EngineeringUnits property of OPC UA Part 8, which clients such as
        # `vigie discover` read. UnitId -1 means no UNECE code is given.
        information = ua.EUInformation(
            NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
            UnitId=-1,
            DisplayName=ua.LocalizedText(unit),
            Description=ua.LocalizedText(unit),
        )
        await variable.add_property(
            0,
            "EngineeringUnits",
            ua.Variant(information, ua.VariantType.ExtensionObject),
        )

    async def _reserve_namespace(self, index: int) -> None:
        # ns=<index> tags need that index to exist; fill the table with placeholders.
        while len(await self.server.get_namespace_array()) <= index:
            count = len(await self.server.get_namespace_array())
            placeholder = f"urn:vigie:sim:{self.device.name}:{count}"
            await self.server.register_namespace(placeholder)

    async def _folder(self, index: int, path: str) -> Node:
        if not path:
            return self.server.nodes.objects
        key = (index, path)
        if key not in self.folders:
            parent_path, _, name = path.rpartition("/")
            parent = await self._folder(index, parent_path)
            self.folders[key] = await parent.add_folder(
                ua.NodeId(path, index), ua.QualifiedName(name, index)
            )
        return self.folders[key]

    async def refresh(self, now: float | None = None) -> None:
        if self.server is None:
            return
        now = now if now is not None else time.time()
        values = self.source.read(now)
        stamp = datetime.fromtimestamp(now, UTC)
        for count, variable in enumerate(self.variables, start=1):
            value = values.get(variable.tag, 0.0)
            if variable.variant_type is ua.VariantType.Boolean:
                value = bool(value)
            else:
                value = float(value)
            data = ua.DataValue(
                ua.Variant(value, variable.variant_type),
                SourceTimestamp=stamp,
                ServerTimestamp=stamp,
            )
            await self.server.write_attribute_value(variable.node_id, data)
            if count % WRITES_PER_YIELD == 0:
                await asyncio.sleep(0)

    async def stop(self) -> None:
        if self.server is None:
            return

        server, self.server = self.server, None
        try:
            await server.stop()
        except Exception as err:
            # A server stopped during its start-up has parts that never started.
            log.info(
                "%s: stopping a server not fully started: %r", self.device.name, err
            )
