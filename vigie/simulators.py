"""Start and stop device simulator processes for `vigie run` and `vigie sim`.

Each simulated device runs as its own `python -m device_sims` process, so stopping one
looks to the collectors exactly like a real device failing.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

from vigie.config import load_config
from vigie.errors import VigieError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0


class SimulatorGroup:
    """Simulator processes for some devices of one config file.

    With ``data_dir`` each simulator writes its log to
    ``<data_dir>/logs/sim-<device>.log``; without, it shares this process's stderr.
    """

    def __init__(
        self, config_path: str, devices: list[str], data_dir: str | None = None
    ) -> None:
        self.config_path = str(config_path)
        self.devices = devices
        self.data_dir = data_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}

    def __enter__(self) -> SimulatorGroup:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for name in self.devices:
            command = [
                sys.executable,
                "-m",
                "device_sims",
                "--config",
                self.config_path,
                "--device",
                name,
            ]
            output = None
            if self.data_dir is not None:
                log_dir = Path(self.data_dir) / "logs"
                log_dir.mkdir(parents=True, exist_ok=True)
                self._logs[name] = log_dir / f"sim-{name}.log"
                output = open(self._logs[name], "ab")
            self.processes[name] = subprocess.Popen(
                command, stdout=output, stderr=output, stdin=subprocess.DEVNULL
            )
            if output is not None:
                output.close()
            log.info("Started simulator %s (pid %d)", name, self.processes[name].pid)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until every simulator accepts connections on its port."""
        config = load_config(self.config_path)
        addresses = {d.name: (d.host, d.port) for d in config.devices}
        deadline = time.monotonic() + timeout_s
        waiting = set(self.devices)
        while waiting:
            for name in sorted(waiting):
                process = self.processes[name]
                if process.poll() is not None:
                    raise VigieError(
                        f"simulator {name} exited with status {process.returncode}"
                        f" before listening{self._log_hint(name)}"
                    )
                if _accepts(*addresses[name]):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise VigieError(
                    "simulators not listening after"
                    f" {timeout_s:.0f} s: {', '.join(sorted(waiting))}"
                )
            if waiting:
                time.sleep(0.1)

    def wait(self) -> None:
        """Block until every simulator has exited or Ctrl-C is pressed."""
        try:
            for process in self.processes.values():
                process.wait()
        except KeyboardInterrupt:
            log.info("Interrupted, stopping simulators")

    def stop(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("Simulator %s did not stop in time, killing it", name)
                process.kill()
                process.wait()
            log.info("Stopped simulator %s (status %s)", name, process.returncode)

    def _log_hint(self, name: str) -> str:
        path = self._logs.get(name)
        if path is None:
            return ""
        tail = path.read_text(errors="replace").strip().splitlines()[-5:]
        return f"; its log {path} ends with:\n  " + "\n  ".join(tail)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
