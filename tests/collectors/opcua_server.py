"""A small asyncua server on loopback and helpers for the OPC UA collector tests."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from device_sims.launch import stop_process, wait_for_port
from vigie.config import OpcUaDevice
from vigie.model import DeviceStatus, Sample

log = logging.getLogger(__name__)

NAMESPACE_URI = "urn:vigie:test:plant"
ENDPOINT_PATH = "/vigie/test"

# String node id, variant type and initial value of every variable the server offers.
VARIABLES = {
    "Outlet/Flow": (ua.VariantType.Double, 12.5),
    "Outlet/Pressure": (ua.VariantType.Float, 3.0),
    "Pumps/Pump1/Running": (ua.VariantType.Boolean, True),
    "Pumps/Pump1/Starts": (ua.VariantType.Int32, 7),
    "Plant/Name": (ua.VariantType.String, "north"),
    "Tank1.Level": (ua.VariantType.Double, 42.5),
    "Tank2.Level": (ua.VariantType.Double, 17.0),
}


def bulk_name(number: int) -> str:
    return f"Bulk/{number:05d}"


@dataclass(frozen=True)
class Security:
    """Files and users of a server that accepts only Basic256Sha256 SignAndEncrypt."""

    server_certificate: Path
    server_key: Path
    users: object


class PasswordUsers(UserManager):
    """Accepts only the given username and password."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username == self.username and password == self.password:
            return User(role=UserRole.User)
        return None


async def make_certificate(folder: Path, name: str, uri: str, server: bool):
    """Write a self-signed certificate (DER) and key (PEM) for ``uri`` into folder."""
    key_file = folder / f"{name}-key.pem"
    certificate_file = folder / f"{name}-cert.der"
    usage = (
        ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    await setup_self_signed_certificate(
        key_file,
        certificate_file,
        uri,
        "localhost",
        [usage],
        {"commonName": name},
    )
    return certificate_file, key_file


class PlantServer:
    """An OPC UA server whose variables live in the namespace ``NAMESPACE_URI``.

    ``port`` 0 lets the system choose a free port; ``self.port`` contains the bound
    port once ``start()`` returns, so that a second server can restart on it.
    ``dummy_namespaces`` are registered before ``NAMESPACE_URI`` and so shift its
    namespace index.
    """

    def __init__(
        self,
        port: int = 0,
        dummy_namespaces: tuple[str, ...] = (),
        bulk_variables: int = 0,
        security: Security | None = None,
    ) -> None:
        self.port = port
        self.dummy_namespaces = dummy_namespaces
        self.bulk_variables = bulk_variables
        self.security = security
        self.namespace_index: int | None = None
        self.nodes: dict[str, object] = {}
        self._server: Server | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}{ENDPOINT_PATH}"

    async def start(self, with_variables: bool = True) -> None:
        """Start listening; ``with_variables=False`` waits for add_variables()."""
        server = Server(user_manager=self.security.users if self.security else None)
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}{ENDPOINT_PATH}")
        if self.security is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            server.set_security_policy(
                [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
            )
            server.set_identity_tokens([ua.UserNameIdentityToken])
            await server.load_certificate(str(self.security.server_certificate))
            await server.load_private_key(str(self.security.server_key))

        for uri in self.dummy_namespaces:
            await server.register_namespace(uri)
        self.namespace_index = await server.register_namespace(NAMESPACE_URI)
        self._server = server
        if with_variables:
            await self.add_variables()

        await server.start()
        self.port = server.bserver.port
        log.info(
            "test server listening on %s, namespace index %d",
            self.endpoint,
            self.namespace_index,
        )

    async def add_variables(self) -> None:
        variables = dict(VARIABLES)
        for number in range(self.bulk_variables):
            variables[bulk_name(number)] = (ua.VariantType.Double, float(number))
        await self._add(variables)

    async def add_bulk_variable(self, number: int) -> None:
        await self._add({bulk_name(number): (ua.VariantType.Double, float(number))})

    async def _add(self, variables: dict) -> None:
        index = self.namespace_index
        objects = self._server.nodes.objects
        for name, (variant_type, value) in variables.items():
            node = await objects.add_variable(
                ua.NodeId(name, index),
                ua.QualifiedName(name, index),
                ua.Variant(value, variant_type),
            )
            self.nodes[name] = node

    async def delete_subscriptions(self) -> int:
        """Delete every subscription on the server side, without telling clients."""
        service = self._server.iserver.subscription_service
        ids = list(service.subscriptions)
        await service.delete_subscriptions(ids)
        return len(ids)

    async def write(
        self,
        name: str,
        value,
        status: int = ua.StatusCodes.Good,
        source_ts: datetime | None = None,
        server_ts: datetime | None = None,
    ) -> None:
        """Write one value with a status code and optional timestamps.

        ``server_ts`` None lets the server stamp its own time.
        """
        variant_type = VARIABLES.get(name, (ua.VariantType.Double,))[0]
        variant = ua.Variant(value, variant_type) if value is not None else ua.Variant()
        data_value = ua.DataValue(
            Value=variant,
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=source_ts,
            ServerTimestamp=server_ts,
        )
        if server_ts is None:
            await self.nodes[name].write_value(data_value)
        else:
            await self._server.write_attribute_value(
                self.nodes[name].nodeid, data_value
            )

    async def stop(self) -> None:
        if self._server is None:
            return
        server = self._server
        self._server = None
        await server.stop()
        log.info("test server on port %d stopped", self.port)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unused_endpoint() -> str:
    """Return an endpoint on a loopback port that nothing listens on right now."""
    return f"opc.tcp://127.0.0.1:{free_port()}{ENDPOINT_PATH}"


def make_device(endpoint: str, tags: list[dict], **settings) -> OpcUaDevice:
    """Build a device with short intervals so that a test receives several publishes."""
    fields = {
        "name": "WTP1",
        "protocol": "opcua",
        "endpoint": endpoint,
        "publishing_interval_ms": 100,
        # A keep-alive every second, so that a silent link is noticed in 1.5 s.
        "max_keepalive_count": 10,
        "poll_interval_s": 0.5,
        "timeout_s": 2.0,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        "tags": tags,
    }
    fields.update(settings)
    return OpcUaDevice.model_validate(fields)


def new_status() -> DeviceStatus:
    return DeviceStatus(name="WTP1", protocol="opcua")


class Recorder:
    """The collector's publish callback: keeps every batch in arrival order."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []

    def __call__(self, batch: list[Sample]) -> None:
        self.batches.append(list(batch))

    def samples(self, tag: str) -> list[Sample]:
        return [s for batch in self.batches for s in batch if s.tag == tag]

    def latest(self, tag: str) -> Sample | None:
        found = self.samples(tag)
        return found[-1] if found else None


async def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll ``condition`` every 50 ms for up to ``timeout_s``. Return its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


class RunningCollector:
    """Runs ``collector.run(stop)`` as a task for the body of an ``async with``."""

    def __init__(self, collector) -> None:
        self.collector = collector
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def __aenter__(self):
        self.task = asyncio.create_task(self.collector.run(self.stop))
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10.0)


class FreezableProxy:
    """A TCP proxy on loopback that can stop forwarding without closing sockets.

    A frozen proxy acts like a server or network path that hangs: connections stay
    open and bytes are held, so only timeouts and missed keep-alives reveal it.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port: int | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task] = set()

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}{ENDPOINT_PATH}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _accept(self, client_reader, client_writer) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            client_writer.close()
            return
        self._writers += [client_writer, server_writer]
        for reader, writer in (
            (client_reader, server_writer),
            (server_reader, client_writer),
        ):
            task = asyncio.create_task(self._pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader, writer) -> None:
        try:
            while chunk := await reader.read(65536):
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class ServerProcess:
    """The plant server in a child process, which a test can freeze with SIGSTOP.

    The child increments ``Pumps/Pump1/Starts`` every 100 ms, so a client sees
    values resume once the process runs again.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}{ENDPOINT_PATH}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout_s=30.0, proc=self.proc)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGCONT)
        stop_process(self.proc)
        self.proc = None


async def serve_counting(port: int) -> None:
    server = PlantServer(port=port)
    await server.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    starts = 0
    while not stopped.is_set():
        starts += 1
        await server.write("Pumps/Pump1/Starts", starts)
        try:
            await asyncio.wait_for(stopped.wait(), timeout=0.1)
        except TimeoutError:
            pass
    await server.stop()


if __name__ == "__main__":
    asyncio.run(serve_counting(int(sys.argv[1])))
