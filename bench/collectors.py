"""Modbus collector throughput against raw pymodbus, same server, same run.

Servers: pymodbus TCP servers in a separate process on loopback, one per device,
each with 1,000 holding registers. Raw: one AsyncModbusTcpClient per server reading
125 registers a request in a loop. Vigie: one ModbusCollector per server with 1,000
uint16 tags (8 requests a poll), polling back to back, decoding, and handing every
batch to the SQLite historian writer's submit(). Both count registers (tags) a second.
Memory: tracemalloc peak while 10 devices of 1,000 tags are built and polled once.

Usage: python bench/collectors.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from collectors.modbus.collector import ModbusCollector  # noqa: E402
from vigie.config import Config  # noqa: E402
from vigie.model import DeviceStatus  # noqa: E402

REGISTERS = 1000
PER_READ = 125


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
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


async def raw_rate(ports: list[int], duration_s: float) -> float:
    """Registers a second that plain pymodbus clients read, 125 a request."""
    clients = [AsyncModbusTcpClient("127.0.0.1", port=port) for port in ports]
    for client in clients:
        await client.connect()
    counts = [0] * len(clients)
    deadline = time.perf_counter() + duration_s

    async def loop(index: int, client) -> None:
        address = 0
        while time.perf_counter() < deadline:
            await client.read_holding_registers(address, count=PER_READ, device_id=1)
            counts[index] += PER_READ
            address = (address + PER_READ) % REGISTERS

    started = time.perf_counter()
    await asyncio.gather(*(loop(i, c) for i, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return sum(counts) / elapsed


def device_config(port: int, index: int) -> dict:
    return {
        "name": f"M{index}",
        "protocol": "modbus_tcp",
        "host": "127.0.0.1",
        "port": port,
        "poll_interval_s": 0.001,
        "tags": [
            {"name": f"r{a}", "address": a, "type": "uint16"} for a in range(REGISTERS)
        ],
    }


def build_config(ports: list[int], data_dir: str) -> Config:
    return Config.model_validate(
        {
            "data_dir": data_dir,
            "devices": [device_config(port, i) for i, port in enumerate(ports)],
        }
    )


async def vigie_rate(ports: list[int], duration_s: float) -> float:
    """Tags a second that Vigie collectors poll, decode and submit to the historian."""
    import historian

    with tempfile.TemporaryDirectory() as data_dir:
        config = build_config(ports, data_dir)
        writer = historian.make_writer(config)
        await writer.start()
        stop = asyncio.Event()
        writer_stop = asyncio.Event()
        writer_task = asyncio.create_task(writer.run(writer_stop))

        statuses = []
        tasks = []
        for device in config.devices:
            status = DeviceStatus(name=device.name, protocol=device.protocol)
            statuses.append(status)
            collector = ModbusCollector(device, writer.submit, status)
            tasks.append(asyncio.create_task(collector.run(stop)))

        # Warm up until every device has polled, then count.
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(s.polls == 0 for s in statuses):
            await asyncio.sleep(0.01)
        start_samples = sum(s.samples for s in statuses)
        started = time.perf_counter()
        await asyncio.sleep(duration_s)
        samples = sum(s.samples for s in statuses) - start_samples
        elapsed = time.perf_counter() - started

        stop.set()
        await asyncio.gather(*tasks)
        writer_stop.set()
        await writer_task
    return samples / elapsed


async def memory_10k_tags(ports: list[int]) -> float:
    """Peak MB that tracemalloc sees while 10,000 tags are built and polled once."""
    tracemalloc.start()
    config = build_config(ports, "unused")
    stop = asyncio.Event()
    statuses = []
    tasks = []
    kept: list = []
    for device in config.devices:
        status = DeviceStatus(name=device.name, protocol=device.protocol)
        statuses.append(status)
        collector = ModbusCollector(device, kept.append, status)
        tasks.append(asyncio.create_task(collector.run(stop)))
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(s.polls == 0 for s in statuses):
        await asyncio.sleep(0.01)
    _, peak = tracemalloc.get_traced_memory()
    stop.set()
    await asyncio.gather(*tasks)
    tracemalloc.stop()
    return peak / 1e6


async def measure(ports: list[int], duration_s: float) -> list[tuple]:
    rows = []
    for count in (1, 10):
        raw = await raw_rate(ports[:count], duration_s)
        vigie = await vigie_rate(ports[:count], duration_s)
        rows.append((count, raw, vigie))
    memory_mb = await memory_10k_tags(ports[:10])
    return rows, memory_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s runs instead of 5 s")
    args = parser.parse_args()
    duration_s = 1.0 if args.quick else 5.0

    ports = free_ports(10)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(ports, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("bench: the pymodbus servers did not start within 30 s")
        rows, memory_mb = asyncio.run(measure(ports, duration_s))
    finally:
        server.terminate()
        server.join(10)

    print(f"Modbus collector vs raw pymodbus, {duration_s:.0f} s a run, loopback\n")
    print("| devices | raw pymodbus registers/s | Vigie tags/s | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    for count, raw, vigie in rows:
        print(f"| {count} | {raw:,.0f} | {vigie:,.0f} | {vigie / raw:.0%} |")
    print(
        f"\nPeak traced memory, 10 devices x 1,000 tags, one poll: {memory_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
