"""Modbus collector throughput against raw pymodbus, same server, same requests.

Servers: pymodbus TCP servers in a separate process on loopback, one per device,
each with 1,000 holding registers. Two tag layouts over those registers:

- uint16: 1,000 uint16 tags, one a register.
- mixed: 800 tags in blocks of 10 registers: float32 ABCD, float32 CDAB, a uint32
  CDAB counter, an int16 scaled by 0.1, two uint16 and two bools in one register.

Both sides send exactly the requests that Vigie's planner makes for the layout, one
at a time per device, back to back, and both are counted in requests a second:

- raw: one AsyncModbusTcpClient per server cycling through the planned requests.
  pymodbus returns the registers as a list of ints, and nothing more is done.
- Vigie: one ModbusCollector per server, polling back to back (an interval of 1 us,
  so no poll waits for a tick). Each reply is decoded into Samples and handed to
  the submit() of a historian BufferedWriter whose flush loop runs but whose
  backend discards the samples, so storage is not measured.

Each case runs in rounds, raw then Vigie, so that both sides meet the same drift of
a shared machine's load. The ratio is over the totals of all rounds, and the table
also gives the lowest and highest ratio of a single round.

Memory: tracemalloc peak while 10 devices of 1,000 uint16 tags are built and polled
once.

Usage: python bench/collectors.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from collectors.modbus.collector import ModbusCollector  # noqa: E402
from collectors.modbus.planner import plan_requests  # noqa: E402
from historian.buffered import BufferedWriter  # noqa: E402
from vigie.config import Config, ModbusDevice  # noqa: E402
from vigie.model import DeviceStatus  # noqa: E402
from vigie.runtime import tune_garbage_collector  # noqa: E402

REGISTERS = 1000
WARM_UP_TIMEOUT_S = 10.0
ROUNDS = 5
# Interval of back-to-back polling; the schema requires more than 0.
BACK_TO_BACK_S = 1e-6


def serve(ports: list[int], ready) -> None:
    """Run one pymodbus server per port until the process is terminated."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def main() -> None:
        servers = []
        for port in ports:
            block = SimData(
                address=0, values=list(range(REGISTERS)), datatype=DataType.REGISTERS
            )
            server = ModbusTcpServer(
                SimDevice(id=1, simdata=[block]), address=("127.0.0.1", port)
            )
            await server.serve_forever(background=True)
            servers.append(server)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def uint16_tags() -> list[dict]:
    return [{"name": f"r{a}", "address": a, "type": "uint16"} for a in range(REGISTERS)]


def mixed_tags() -> list[dict]:
    tags = []
    for base in range(0, REGISTERS, 10):
        tags += [
            {"name": f"f{base}", "address": base, "type": "float32"},
            {
                "name": f"g{base}",
                "address": base + 2,
                "type": "float32",
                "byte_order": "CDAB",
            },
            {
                "name": f"e{base}",
                "address": base + 4,
                "type": "uint32",
                "byte_order": "CDAB",
                "counter": True,
            },
            {"name": f"p{base}", "address": base + 6, "type": "int16", "scale": 0.1},
            {"name": f"u{base}", "address": base + 7, "type": "uint16"},
            {"name": f"a{base}", "address": base + 8, "type": "bool", "bit": 0},
            {"name": f"b{base}", "address": base + 8, "type": "bool", "bit": 3},
            {"name": f"v{base}", "address": base + 9, "type": "uint16"},
        ]
    return tags


LAYOUTS = {"uint16": uint16_tags, "mixed": mixed_tags}


def build_config(ports: list[int], layout: str) -> Config:
    devices = [
        {
            "name": f"M{index}",
            "protocol": "modbus_tcp",
            "host": "127.0.0.1",
            "port": port,
            "poll_interval_s": BACK_TO_BACK_S,
            "tags": LAYOUTS[layout](),
        }
        for index, port in enumerate(ports)
    ]
    return Config.model_validate({"data_dir": "unused", "devices": devices})


def planned_reads(device: ModbusDevice) -> list[tuple[int, int]]:
    return [(request.address, request.count) for request in plan_requests(device)]


@dataclass
class Run:
    """Counts of one timed run: requests, samples handed on, seconds, CPU seconds."""

    requests: int = 0
    samples: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0

    def add(self, other: Run) -> None:
        self.requests += other.requests
        self.samples += other.samples
        self.elapsed_s += other.elapsed_s
        self.cpu_s += other.cpu_s

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s


async def raw_rate(config: Config, duration_s: float) -> Run:
    """Run plain pymodbus clients through Vigie's plan for ``duration_s``."""
    clients = [
        AsyncModbusTcpClient("127.0.0.1", port=device.port) for device in config.devices
    ]
    for client in clients:
        await client.connect()
    counts = [0] * len(clients)
    deadline = time.perf_counter() + duration_s

    async def loop(index: int, client, reads: list[tuple[int, int]]) -> None:
        position = 0
        while time.perf_counter() < deadline:
            address, count = reads[position]
            await client.read_holding_registers(address, count=count, device_id=1)
            counts[index] += 1
            position = (position + 1) % len(reads)

    started = time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.gather(
        *(
            loop(index, client, planned_reads(device))
            for index, (client, device) in enumerate(zip(clients, config.devices))
        )
    )
    cpu_s = time.process_time() - cpu_started
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return Run(sum(counts), 0, elapsed, cpu_s)


class DiscardingWriter(BufferedWriter):
    """The historian's buffer and flush loop, with a backend that stores nothing."""

    backend = "discard"

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def _write(self, chunk):
        return []


async def vigie_rate(config: Config, duration_s: float) -> Run:
    """Run Vigie collectors that poll, decode and submit for ``duration_s``."""
    writer = DiscardingWriter(batch_size=5000, flush_interval_s=1.0)
    await writer.start()
    writer_stop = asyncio.Event()
    writer_task = asyncio.create_task(writer.run(writer_stop))
    # Batches (one per request) and samples handed to submit().
    handed = [0, 0]

    def submit(batch) -> None:
        handed[0] += 1
        handed[1] += len(batch)
        writer.submit(batch)

    stop = asyncio.Event()
    statuses = []
    tasks = []
    for device in config.devices:
        status = DeviceStatus(name=device.name, protocol=device.protocol)
        statuses.append(status)
        collector = ModbusCollector(device, submit, status)
        tasks.append(asyncio.create_task(collector.run(stop)))

    # Warm up until every device has polled, then count.
    deadline = time.perf_counter() + WARM_UP_TIMEOUT_S
    while time.perf_counter() < deadline and any(s.polls == 0 for s in statuses):
        await asyncio.sleep(0.01)
    start_requests, start_samples = handed
    started = time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.sleep(duration_s)
    requests = handed[0] - start_requests
    samples = handed[1] - start_samples
    cpu_s = time.process_time() - cpu_started
    elapsed = time.perf_counter() - started

    stop.set()
    await asyncio.gather(*tasks)
    writer_stop.set()
    await writer_task
    return Run(requests, samples, elapsed, cpu_s)


async def memory_10k_tags(ports: list[int]) -> float:
    """Peak MB that tracemalloc measures while 10,000 tags are built and polled once."""
    tracemalloc.start()
    config = build_config(ports, "uint16")
    stop = asyncio.Event()
    statuses = []
    tasks = []
    kept: list = []
    for device in config.devices:
        status = DeviceStatus(name=device.name, protocol=device.protocol)
        statuses.append(status)
        collector = ModbusCollector(device, kept.append, status)
        tasks.append(asyncio.create_task(collector.run(stop)))
    deadline = time.perf_counter() + WARM_UP_TIMEOUT_S
    while time.perf_counter() < deadline and any(s.polls == 0 for s in statuses):
        await asyncio.sleep(0.01)
    _, peak = tracemalloc.get_traced_memory()
    stop.set()
    await asyncio.gather(*tasks)
    tracemalloc.stop()
    return peak / 1e6


async def measure(
    ports: list[int], duration_s: float, rounds: int
) -> tuple[list[tuple], float]:
    rows = []
    for layout in LAYOUTS:
        for count in (1, 10):
            config = build_config(ports[:count], layout)
            # As the runtime does once everything is built, for the raw and the Vigie
            # run alike.
            tune_garbage_collector()
            tags = len(config.devices[0].tags)
            reads = len(planned_reads(config.devices[0]))
            raw, vigie = Run(), Run()
            round_ratios = []
            for _ in range(rounds):
                raw_run = await raw_rate(config, duration_s)
                vigie_run = await vigie_rate(config, duration_s)
                round_ratios.append(vigie_run.rate / raw_run.rate)
                raw.add(raw_run)
                vigie.add(vigie_run)
            rows.append((layout, count, tags, reads, raw, vigie, round_ratios))
    memory_mb = await memory_10k_tags(ports[:10])
    return rows, memory_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 rounds of 0.5 s instead of 5 of 1 s"
    )
    args = parser.parse_args()
    duration_s, rounds = (0.5, 2) if args.quick else (1.0, ROUNDS)

    ports = free_ports(10)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(ports, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("bench: the pymodbus servers did not start within 30 s")
        rows, memory_mb = asyncio.run(measure(ports, duration_s, rounds))
    finally:
        server.terminate()
        server.join(10)

    print(
        f"Modbus collector vs raw pymodbus, {rounds} rounds of {duration_s:g} s for"
        " each side, alternating, loopback. Both send the same planned requests back"
        " to back; ratio = Vigie requests/s over raw requests/s, over all rounds,"
        " then the lowest and highest round. Vigie also decodes every tag and submits"
        " it to the historian writer, raw pymodbus only returns the registers. CPU:"
        " client process CPU time a request (the servers run in another process).\n"
    )
    print(
        "| layout | devices | tags a device | requests a poll | raw pymodbus requests/s"
        " | Vigie requests/s | Vigie tags/s | ratio | rounds | raw CPU us/request"
        " | Vigie CPU us/request |"
    )
    print(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for layout, count, tags, reads, raw, vigie, round_ratios in rows:
        tags_per_s = vigie.samples / vigie.elapsed_s
        raw_cpu_us = raw.cpu_s / raw.requests * 1e6
        vigie_cpu_us = vigie.cpu_s / vigie.requests * 1e6
        print(
            f"| {layout} | {count} | {tags:,} | {reads} | {raw.rate:,.0f}"
            f" | {vigie.rate:,.0f} | {tags_per_s:,.0f} | {vigie.rate / raw.rate:.0%}"
            f" | {min(round_ratios):.0%} to {max(round_ratios):.0%}"
            f" | {raw_cpu_us:.0f} | {vigie_cpu_us:.0f} |"
        )
    print(
        f"\nPeak traced memory, 10 devices x 1,000 tags, one poll: {memory_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
