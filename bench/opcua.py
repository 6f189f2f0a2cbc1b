"""OPC UA notifications per second: Vigie's collector against raw asyncua.

A server in a separate process sets every one of N Double variables to the step
number each interval, and shows the last complete step in ``Bench/Step``. In the
same run and against the same server, this script measures for the same duration:

- raw asyncua: Client.create_subscription with a handler whose
  datachange_notification only counts;
- Vigie: OpcUaCollector publishing its batches into a consumer that only counts.

Each window starts once the initial values arrived. The server's changes in a
window are N x the steps between the two reads of ``Bench/Step``. The
notifications received for those steps are counted by their value, after a
one-second drain for the last publishes. Prints a Markdown table. Run from the
repository root: ``python bench/opcua.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Other scripts in bench/ are named like Vigie's packages (bench/collectors.py), so
# the script's own folder must not shadow them on the import path.
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]

from asyncua import Client, Server, ua  # noqa: E402

NAMESPACE_URI = "urn:vigie:bench"
PATH = "/vigie/bench"
# Writes between yields, so that the server keeps publishing while it writes.
WRITES_PER_YIELD = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def variable_name(number: int) -> str:
    return f"Bench/V{number:05d}"


async def serve(port: int, count: int, interval_ms: float) -> None:
    """Run the changing server until SIGTERM."""
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}{PATH}")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    index = await server.register_namespace(NAMESPACE_URI)
    objects = server.nodes.objects
    nodes = []
    for number in range(count):
        name = variable_name(number)
        node = await objects.add_variable(
            ua.NodeId(name, index), ua.QualifiedName(name, index), 0.0
        )
        nodes.append(node.nodeid)
    step_id = ua.NodeId("Bench/Step", index)
    await objects.add_variable(
        step_id,
        ua.QualifiedName("Bench/Step", index),
        ua.Variant(0, ua.VariantType.UInt64),
    )
    await server.start()

    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    print("ready", flush=True)
    step = 0
    next_tick = time.monotonic()
    while not stopped.is_set():
        step += 1
        for written, node_id in enumerate(nodes, start=1):
            await server.write_attribute_value(
                node_id, ua.DataValue(ua.Variant(float(step), ua.VariantType.Double))
            )
            if written % WRITES_PER_YIELD == 0:
                await asyncio.sleep(0)
        await server.write_attribute_value(
            step_id, ua.DataValue(ua.Variant(step, ua.VariantType.UInt64))
        )
        next_tick += interval_ms / 1000.0
        delay = max(0.0, next_tick - time.monotonic())
        try:
            await asyncio.wait_for(stopped.wait(), timeout=delay)
        except TimeoutError:
            pass
    await server.stop()


class Counter:
    """Counts notifications in total and by the step number they carry."""

    def __init__(self) -> None:
        self.count = 0
        self.by_step: dict[int, int] = {}

    def datachange_notification(self, node, value, data) -> None:
        self.count += 1
        step = int(value)
        self.by_step[step] = self.by_step.get(step, 0) + 1

    def __call__(self, batch) -> None:
        self.count += len(batch)
        for sample in batch:
            step = int(sample.value)
            self.by_step[step] = self.by_step.get(step, 0) + 1


async def server_step(endpoint: str, index: int) -> int:
    async with Client(endpoint, timeout=10) as client:
        return await client.get_node(ua.NodeId("Bench/Step", index)).read_value()


async def wait_for_count(counter: Counter, target: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while counter.count < target and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if counter.count < target:
        raise RuntimeError(f"only {counter.count} of {target} initial values arrived")


@dataclass
class Window:
    received: int
    changes: int
    elapsed_s: float
    # Client process CPU seconds, and the notifications handled, in the window.
    cpu_s: float
    notified: int

    @property
    def rate(self) -> float:
        return self.received / self.elapsed_s

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_s / max(1, self.notified)


async def measure_window(endpoint, index, counter, duration_s, count) -> Window:
    """Measure one window: notifications for its steps, server changes, CPU."""
    first_step = await server_step(endpoint, index)
    started = time.monotonic()
    cpu_started = time.process_time()
    notified = counter.count
    await asyncio.sleep(duration_s)
    cpu_s = time.process_time() - cpu_started
    notified = counter.count - notified
    last_step = await server_step(endpoint, index)
    elapsed = time.monotonic() - started
    await asyncio.sleep(1.0)
    steps = range(first_step + 1, last_step + 1)
    received = sum(counter.by_step.get(step, 0) for step in steps)
    return Window(received, len(steps) * count, elapsed, cpu_s, notified)


async def run_raw(endpoint: str, count: int, interval_ms: float, duration_s: float):
    counter = Counter()
    async with Client(endpoint, timeout=10) as client:
        index = await client.get_namespace_index(NAMESPACE_URI)
        nodes = [
            client.get_node(ua.NodeId(variable_name(n), index)) for n in range(count)
        ]
        subscription = await client.create_subscription(interval_ms, counter)
        await subscription.subscribe_data_change(nodes, sampling_interval=interval_ms)
        await wait_for_count(counter, count, 60.0)
        result = await measure_window(endpoint, index, counter, duration_s, count)
        await subscription.delete()
    return result


async def run_vigie(endpoint: str, count: int, interval_ms: float, duration_s: float):
    from collectors.opcua.collector import OpcUaCollector
    from vigie.config import OpcUaDevice
    from vigie.model import DeviceStatus

    device = OpcUaDevice.model_validate(
        {
            "name": "BENCH",
            "protocol": "opcua",
            "endpoint": endpoint,
            "publishing_interval_ms": interval_ms,
            "timeout_s": 10.0,
            # asyncua's subscribe_data_change requests queue size 0, which its
            # server revises to 10,000. A queue of 10 keeps every change here too.
            "tags": [
                {
                    "name": f"v{n}",
                    "node": f"nsu={NAMESPACE_URI};s={variable_name(n)}",
                    "queue_size": 10,
                }
                for n in range(count)
            ],
        }
    )
    counter = Counter()
    status = DeviceStatus(name="BENCH", protocol="opcua")
    collector = OpcUaCollector(device, counter, status)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    try:
        await wait_for_count(counter, count, 60.0)
        async with Client(endpoint, timeout=10) as client:
            index = await client.get_namespace_index(NAMESPACE_URI)
        result = await measure_window(endpoint, index, counter, duration_s, count)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30.0)
    if status.errors:
        raise RuntimeError(
            f"collector reported {status.errors} errors: {status.last_error}"
        )
    return result


def start_server(count: int, interval_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(port),
            "--tags",
            str(count),
            "--interval-ms",
            str(interval_ms),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError("bench server did not start")
    return proc, f"opc.tcp://127.0.0.1:{port}{PATH}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s windows")
    parser.add_argument(
        "--tags", type=int, default=1000, help="variables (default 1000)"
    )
    parser.add_argument(
        "--interval-ms",
        type=float,
        default=100.0,
        help="change and publishing interval in ms (default 100)",
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        asyncio.run(serve(args.serve, args.tags, args.interval_ms))
        return 0

    duration_s = 5.0 if args.quick else 20.0
    proc, endpoint = start_server(args.tags, args.interval_ms)
    try:
        raw = asyncio.run(run_raw(endpoint, args.tags, args.interval_ms, duration_s))
        vigie = asyncio.run(
            run_vigie(endpoint, args.tags, args.interval_ms, duration_s)
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    print(
        f"{args.tags} tags changed every {args.interval_ms:g} ms, publishing interval"
        f" {args.interval_ms:g} ms, {duration_s:g} s windows, server in its own"
        " process."
    )
    print()
    print(
        "| Client | Notifications/s | Received / server changes | vs raw |"
        " Client CPU per notification | CPU vs raw |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, window in (
        ("asyncua handler (raw)", raw),
        ("Vigie OpcUaCollector", vigie),
    ):
        share = window.received / window.changes if window.changes else 0.0
        print(
            f"| {name} | {window.rate:,.0f} | {share:.1%}"
            f" ({window.received:,} / {window.changes:,}) |"
            f" {window.rate / raw.rate:.2f} | {window.cpu_us:.1f} us |"
            f" {window.cpu_us / raw.cpu_us:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
