"""OPC UA servers and their node tags."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigie.config.alarms import TagBase, check_alarm_types
from vigie.config.base import DeviceBase

SecurityPolicy = Literal["None", "Basic256Sha256"]
OpcUaType = Literal["float", "int", "bool", "string"]
SecurityMode = Literal["None", "Sign", "SignAndEncrypt"]


class OpcUaTag(TagBase):
    # Node id, by namespace index (ns=2;s=...) or namespace URI (nsu=urn:...;s=...).
    node: str = Field(min_length=3)
    # Data-change filter of the monitored item: report a change only when the value
    # moves by more than this amount (absolute) or this percentage of the node's
    # EURange (percent). At most one of the two; subscription mode only.
    deadband_absolute: float | None = Field(default=None, ge=0.0)
    deadband_percent: float | None = Field(default=None, ge=0.0, le=100.0)
    # Values the server queues for this node between two publishes; 1 keeps only the
    # latest value.
    queue_size: int = Field(default=1, ge=1, le=10_000)
    # Data type the node must send: float (any number), int (a whole number), bool or
    # string. A value of another type is stored as BAD with reason config_error, and
    # the historian stores and reads back the declared type. None accepts any scalar.
    type: OpcUaType | None = None

    @field_validator("node")
    @classmethod
    def _check_node(cls, node: str) -> str:
        if not re.match(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$", node):
            raise ValueError(
                f"invalid node id {node!r}: expected ns=<index>;s=<name>,"
                " nsu=<uri>;s=<name> or i=<number>"
            )
        return node

    @model_validator(mode="after")
    def _check_deadband_and_alarms(self) -> OpcUaTag:
        if self.deadband_absolute is not None and self.deadband_percent is not None:
            raise ValueError(
                "deadband_percent: set either deadband_absolute or deadband_percent,"
                " not both"
            )
        deadband = (
            self.deadband_absolute is not None or self.deadband_percent is not None
        )
        if deadband and self.type in ("bool", "string"):
            key = (
                "deadband_absolute"
                if self.deadband_absolute is not None
                else ("deadband_percent")
            )
            raise ValueError(
                f"{key}: a deadband applies to numbers, but this tag is {self.type};"
                " remove it"
            )
        # Only a declared type can rule an alarm out; an undeclared tag takes any.
        check_alarm_types(self.alarms, self.type, floating=self.type == "float")
        return self


class OpcUaDevice(DeviceBase):
    protocol: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://[^/:]+:\d+(/.*)?$")
    # subscription: the server publishes changes. polling: batched Read calls every
    # poll_interval_s.
    mode: Literal["subscription", "polling"] = "subscription"
    # Milliseconds between the server's publish responses.
    publishing_interval_ms: float = Field(default=500.0, gt=0.0)
    # Milliseconds between the server's samples of each node; None uses the
    # publishing interval.
    sampling_interval_ms: float | None = Field(default=None, ge=0.0)
    # Publishing intervals without a change after which the server sends a
    # keep-alive; None requests one keep-alive every 5 s.
    max_keepalive_count: int | None = Field(default=None, ge=1, le=100_000)
    # Publishing intervals without a Publish request after which the server deletes
    # the subscription; None is 10 keep-alive periods. A value below three times the
    # keep-alive count is raised to three times it.
    lifetime_count: int | None = Field(default=None, ge=1)
    # Timestamp of each sample: source (the device's time) or server (the OPC UA
    # server's time). Either falls back to the other, then to the receive time.
    timestamp: Literal["source", "server"] = "source"
    # Seconds the server keeps the session open without any request from us.
    session_timeout_s: float = Field(default=60.0, ge=1.0, le=86400.0)
    # Seconds the whole connect (TCP, hello, secure channel, session) may take.
    connect_timeout_s: float = Field(default=10.0, gt=0.0, le=600.0)
    # Nodes per CreateMonitoredItems or Read request.
    max_nodes_per_request: int = Field(default=500, ge=1, le=100_000)
    # Seconds between retries of nodes the server rejected; they are also retried on
    # every reconnect.
    rejected_node_retry_s: float = Field(default=600.0, gt=0.0)
    security_policy: SecurityPolicy = "None"
    security_mode: SecurityMode = "None"
    # PEM or DER files of the client's application instance certificate and key.
    certificate_path: str = ""
    private_key_path: str = ""
    # Server certificate file; empty fetches it from the server's endpoints.
    server_certificate_path: str = ""
    username: str = ""
    # Name of the environment variable that contains the password; never the password.
    password_env: str = ""
    tags: tuple[OpcUaTag, ...] = Field(min_length=1)

    @property
    def host(self) -> str:
        return self.endpoint.split("//", 1)[1].split(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.split("//", 1)[1].split(":", 1)[1].split("/", 1)[0])

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint_port(cls, endpoint: str) -> str:
        port = int(endpoint.split("//", 1)[1].split(":", 1)[1].split("/", 1)[0])
        if not 1 <= port <= 65535:
            raise ValueError(
                f"invalid port {port} in endpoint {endpoint!r}: use 1 to 65535"
            )
        return endpoint

    @model_validator(mode="after")
    def _check_security(self) -> OpcUaDevice:
        secure = self.security_policy != "None"
        if secure != (self.security_mode != "None"):
            raise ValueError(
                f"security_mode: {self.security_mode!r} does not match security_policy"
                f" {self.security_policy!r}; use None with None, or Sign or"
                " SignAndEncrypt with Basic256Sha256"
            )
        if secure and not (self.certificate_path and self.private_key_path):
            raise ValueError(
                "certificate_path: missing; security_policy Basic256Sha256 needs"
                " certificate_path and private_key_path"
            )
        if self.password_env and not self.username:
            raise ValueError("username: missing; password_env needs a username")
        if self.password_env and self.password_env not in os.environ:
            raise ValueError(
                f"password_env: environment variable {self.password_env!r} is not"
                " set; export it with the password before starting Vigie"
            )
        return self
