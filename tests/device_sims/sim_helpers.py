"""Helpers shared by the simulator tests: free ports, config copies, polling."""

import socket
import subprocess
import time
from pathlib import Path

import yaml

from device_sims.launch import start_process, stop_process, wait_for_port

MAIN_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path: Path, edit=None) -> dict[str, int]:
    """Copy config.yaml to ``path`` with every device on a free loopback port.

    Returns the port of each device by name. ``edit`` may change the raw mapping.
    """
    raw = yaml.safe_load(MAIN_CONFIG.read_text(encoding="utf-8"))
    ports = {}
    for device in raw["devices"]:
        port = free_port()
        ports[device["name"]] = port
        if device["protocol"] == "opcua":
            device["endpoint"] = device["endpoint"].replace(":14840/", f":{port}/")
        else:
            device["port"] = port
    if edit is not None:
        edit(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return ports


def wait_until(condition, timeout_s: float = 20.0, interval_s: float = 0.1):
    """Poll ``condition`` until it returns a truthy value, and return that value."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


class RunningSim:
    def __init__(self, proc: subprocess.Popen, port: int, control_port: int, log: Path):
        self.proc = proc
        self.port = port
        self.control_port = control_port
        self.log = log


def start_sim(config: Path, device: str, port: int, log: Path) -> RunningSim:
    control_port = free_port()
    with log.open("wb") as stream:
        proc = start_process(
            config, device, control_port, stdout=stream, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, timeout_s=30.0, proc=proc)
    except BaseException:
        stop_process(proc)
        raise
    return RunningSim(proc, port, control_port, log)
