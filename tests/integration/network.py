"""The simulated network and a `vigie run` process, started for end-to-end tests.

The network is the shipped config.yaml with every port moved to a free loopback port,
so tests never collide with a running Vigie or with each other.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.ports import free_ports

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0
ALL_TAGS = 25


def write_network_config(tmp_path: Path, historian: dict | None = None, mutate=None):
    """Write the shipped config with free ports; returns (path, config dict)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = copy.deepcopy(config)
    ports = free_ports(len(config["devices"]) + 1)
    for device, port in zip(config["devices"], ports):
        if device["protocol"] == "opcua":
            path = device["endpoint"].split("/", 3)[3]
            device["endpoint"] = f"opc.tcp://127.0.0.1:{port}/{path}"
        else:
            device["port"] = port
    config["dashboard"] = {"port": ports[-1], "refresh_interval_s": 0.5}
    config["data_dir"] = str(tmp_path / "data")
    if historian is not None:
        config["historian"] = historian
    if mutate is not None:
        mutate(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, config


def wait_for(condition, what: str, timeout_s: float = WAIT_S, interval_s: float = 0.25):
    """Poll ``condition`` until it returns a truthy value; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except (OSError, ValueError) as err:
            last = err
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(
        f"timed out after {timeout_s:.0f} s waiting for {what}: {last!r}"
    )


class Simulator:
    """One `python -m device_sims` process with a control port."""

    def __init__(
        self, config_path: Path, device: str, control_port: int, log_dir: Path
    ):
        self.config_path = config_path
        self.device = device
        self.control_port = control_port
        self.log_path = log_dir / f"sim-{device}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "device_sims",
                    "--config",
                    str(self.config_path),
                    "--device",
                    self.device,
                    "--control-port",
                    str(self.control_port),
                ],
                stdout=output,
                stderr=output,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
            )

    def control(self, message: dict) -> dict:
        from device_sims.control import send

        return send(self.control_port, message)

    def wait_control(self) -> None:
        wait_for(
            lambda: (
                self.process.poll() is None and self.control({"release": "__none__"})
            ),
            f"simulator {self.device} control port",
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class VigieProcess:
    """A `vigie run` subprocess and its status API."""

    def __init__(self, config_path: Path, config: dict, args: list[str]):
        self.config_path = config_path
        self.config = config
        self.args = args
        self.port = config["dashboard"]["port"]
        self.process: subprocess.Popen | None = None
        self.log_path = Path(config["data_dir"]).parent / "vigie.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.output = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vigie.cli",
                "run",
                "--config",
                str(self.config_path),
            ]
            + self.args,
            stdout=subprocess.PIPE,
            stderr=self.output,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def status(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as response:
            return json.load(response)

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def tag(self, name: str) -> dict:
        return next(t for t in self.status()["tags"] if t["name"] == name)

    def alarm(self, alarm_id: str) -> dict | None:
        return next((a for a in self.status()["alarms"] if a["id"] == alarm_id), None)

    def device(self, name: str) -> dict:
        return next(d for d in self.status()["devices"] if d["name"] == name)

    def stop(self, timeout_s: float = 60) -> tuple[int, str]:
        """Send SIGTERM and return (exit status, standard output)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            stdout, _ = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, _ = self.process.communicate()
        self.output.close()
        return self.process.returncode, stdout.decode(errors="replace")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def all_tags_good(vigie: VigieProcess) -> bool:
    tags = vigie.status()["tags"]
    return len(tags) == ALL_TAGS and all(t["quality"] == "good" for t in tags)


def journal(data_dir: str, alarm_id: str) -> list[tuple]:
    with sqlite3.connect(Path(data_dir) / "alarms.sqlite") as db:
        return db.execute(
            "SELECT from_state, to_state, user FROM journal WHERE alarm_id = ?"
            " ORDER BY id",
            (alarm_id,),
        ).fetchall()
