"""OPC UA servers and their node tags."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from vigie.config.alarms import TagBase
from vigie.config.base import DeviceBase


class OpcUaTag(TagBase):
    # Node id, by namespace index (ns=2;s=...) or namespace URI (nsu=urn:...;s=...).
    node: str = Field(min_length=3)

    @field_validator("node")
    @classmethod
    def _check_node(cls, node: str) -> str:
        if not re.match(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$", node):
            raise ValueError(
                f"invalid node id {node!r}: expected ns=<index>;s=<name>,"
                " nsu=<uri>;s=<name> or i=<number>"
            )
        return node


class OpcUaDevice(DeviceBase):
    protocol: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://[^/:]+:\d+(/.*)?$")
    # Milliseconds between the server's publish responses.
    publishing_interval_ms: float = Field(default=500.0, gt=0.0)
    tags: tuple[OpcUaTag, ...] = Field(min_length=1)

    @property
    def host(self) -> str:
        return self.endpoint.split("//", 1)[1].split(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.split("//", 1)[1].split(":", 1)[1].split("/", 1)[0])
