"""Latency from a limit crossing at the device to the notification leaving Vigie.

Starts the PS1 simulator on free loopback ports, then the real Modbus collector,
alarm engine and notification service in this process, with an SMS channel that
posts to a local aiohttp receiver. Each crossing forces PS1.discharge_pressure to
7.2 bar (limit 6.5 bar) through the simulator's control port and measures the
time until the SMS request arrives. A raw pymodbus client polling the same
register at the same interval gives the floor that polling alone imposes.

    python bench/alarms_latency.py [--quick] [--crossings N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from aiohttp import web
from pymodbus.client import AsyncModbusTcpClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from alarms import AlarmEngine
from alarms.notify import NotificationService
from collectors import make_collector
from device_sims import control
from tests.ports import free_ports
from vigie.config import load_config
from vigie.model import DeviceStatus

HIGH = 7.2
NORMAL = 4.0
# Input register 4 contains the pressure in hundredths of a bar.
PRESSURE_REGISTER = 4
WAIT_S = 15.0
# Fixed seed, so both paths wait the same random phases before each crossing.
SEED = 7


def write_config(folder: Path, poll_interval_s: float) -> tuple[Path, int, int]:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = copy.deepcopy(config)
    modbus_port, control_port, sms_port = free_ports(3)
    config["devices"] = [d for d in config["devices"] if d["name"] == "PS1"]
    # The site-wide rules name tags of the devices left out.
    config["alarms"] = {
        "rules": [
            r
            for r in config["alarms"]["rules"]
            if r.get("tag", "PS1.").startswith("PS1.")
        ]
    }
    config["devices"][0]["port"] = modbus_port
    config["devices"][0]["poll_interval_s"] = poll_interval_s
    config["data_dir"] = str(folder / "data")
    config["notifications"] = {
        "channels": {
            "sms": {
                "type": "sms",
                "url": f"http://127.0.0.1:{sms_port}/sms",
                "body": "{to}|{message}",
                "body_format": "text",
            }
        },
        "recipients": [{"name": "oncall", "contacts": {"sms": "+1000"}}],
        "rosters": [
            {"area": "all", "people": ["oncall"], "rotation_start": "2026-01-05"}
        ],
        "rate_limit": {"max_messages": 10_000, "window_s": 60},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, control_port, sms_port


def force(control_port: int, value: float) -> None:
    control.send(control_port, {"force": "discharge_pressure", "value": value})


async def wait_for(condition, what: str) -> None:
    for _ in range(int(WAIT_S / 0.002)):
        if condition():
            return
        await asyncio.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


async def vigie_latencies(config, control_port, sms_port, crossings) -> list[float]:
    arrivals: list[float] = []

    async def receive(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/sms", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sms_port).start()

    engine = AlarmEngine(config, Path(config.data_dir) / "alarms.sqlite")
    service = NotificationService(config, config.data_dir)
    engine_id = "PS1.discharge_pressure.high"

    def publish(batch) -> None:
        service.submit(engine.process(batch))

    device = config.devices[0]
    status = DeviceStatus(device.name, device.protocol)
    collector = make_collector(device, publish, status)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(collector.run(stop)),
        asyncio.create_task(service.run(stop)),
    ]

    latencies = []
    try:
        await wait_for(lambda: status.polls > 0, "the first poll")
        phases = random.Random(SEED)
        poll_interval_s = device.poll_interval_s
        for _ in range(crossings):
            # A random phase against the poll schedule, as a real crossing has.
            await asyncio.sleep(phases.uniform(0, poll_interval_s))
            count = len(arrivals)
            started = time.monotonic()
            force(control_port, HIGH)
            await wait_for(lambda count=count: len(arrivals) > count, "the SMS")
            latencies.append(arrivals[-1] - started)

            force(control_port, NORMAL)
            await wait_for(
                lambda: not any(a["id"] == engine_id for a in _active(engine)),
                "the alarm to clear",
            )
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        engine.close()
        service.close()
        await runner.cleanup()
    return latencies


def _active(engine: AlarmEngine) -> list[dict]:
    # Acknowledge what returned to normal, so the next crossing raises afresh.
    active = engine.active()
    for alarm in active:
        if alarm["state"] == "unack_rtn":
            engine.acknowledge(alarm["id"], "bench")
    return [a for a in active if a["state"] != "unack_rtn"]


async def raw_latencies(port, control_port, poll_interval_s, crossings) -> list[float]:
    """Poll with a bare pymodbus client on a fixed schedule, as the collector does."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    seen_high: list[float] = []
    stop = asyncio.Event()

    async def poll() -> None:
        was_high = False
        while not stop.is_set():
            reply = await client.read_input_registers(
                PRESSURE_REGISTER, count=1, device_id=1
            )
            high = reply.registers[0] > 650
            if high and not was_high:
                seen_high.append(time.monotonic())
            was_high = high
            await asyncio.sleep(poll_interval_s)

    poller = asyncio.create_task(poll())
    phases = random.Random(SEED)
    latencies = []
    try:
        for _ in range(crossings):
            await asyncio.sleep(phases.uniform(0, poll_interval_s))
            count = len(seen_high)
            started = time.monotonic()
            force(control_port, HIGH)
            await wait_for(lambda count=count: len(seen_high) > count, "the raw poll")
            latencies.append(seen_high[-1] - started)
            force(control_port, NORMAL)
            await asyncio.sleep(poll_interval_s * 2.5)
    finally:
        stop.set()
        await asyncio.gather(poller, return_exceptions=True)
        client.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(share * (len(ordered) - 1)))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 crossings")
    parser.add_argument("--crossings", type=int, default=20, help="default 20")
    parser.add_argument(
        "--poll-interval-s", type=float, default=1.0, help="default 1.0"
    )
    args = parser.parse_args()
    crossings = 5 if args.quick else max(1, min(args.crossings, 200))

    with tempfile.TemporaryDirectory() as folder:
        path, control_port, sms_port = write_config(Path(folder), args.poll_interval_s)
        config = load_config(path)
        simulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "device_sims",
                "--config",
                str(path),
                "--device",
                "PS1",
                "--control-port",
                str(control_port),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    force(control_port, NORMAL)
                    break
                except OSError:
                    time.sleep(0.05)
            port = config.devices[0].port
            raw = asyncio.run(
                raw_latencies(port, control_port, args.poll_interval_s, crossings)
            )
            vigie = asyncio.run(
                vigie_latencies(config, control_port, sms_port, crossings)
            )
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)

    poll = args.poll_interval_s
    print(f"\n{crossings} crossings, poll interval {poll:g} s\n")
    print("| path | p50 s | p95 s | p50 / poll | p95 / poll |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in (
        ("raw pymodbus poll sees the value", raw),
        ("Vigie: collector, engine, notification to HTTP SMS", vigie),
    ):
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(
            f"| {name} | {p50:.3f} | {p95:.3f} | {p50 / poll:.2f} | {p95 / poll:.2f} |"
        )


if __name__ == "__main__":
    main()
