"""Start and stop device simulator processes for `vigie run` and `vigie sim`.

Each simulated device runs as its own `python -m device_sims` process, so stopping one
looks to the collectors exactly like a real device failing.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import threading
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
        self._stopping = False

    def __enter__(self) -> SimulatorGroup:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._check_ports_free()
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
                command,
                stdout=output,
                stderr=output,
                stdin=subprocess.DEVNULL,
                preexec_fn=_stop_with_parent,
            )
            if output is not None:
                output.close()
            log.info("Started simulator %s (pid %d)", name, self.processes[name].pid)
            threading.Thread(
                target=self._watch,
                args=(name, self.processes[name]),
                name=f"watch-sim-{name}",
                daemon=True,
            ).start()

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

    def kill(self) -> None:
        """Kill every simulator at once, for an exit that cannot wait."""
        self._stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()

    def stop(self) -> None:
        self._stopping = True
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

    def _check_ports_free(self) -> None:
        config = load_config(self.config_path)
        addresses = {d.name: (d.host, d.port) for d in config.devices}
        for name in self.devices:
            host, port = addresses[name]
            if _accepts(host, port):
                raise VigieError(
                    f"cannot simulate {name}: {host}:{port} is already in use by"
                    " another process (a simulator left running, or a real server);"
                    " stop it or change the device's port"
                )

    def _watch(self, name: str, process: subprocess.Popen) -> None:
        code = process.wait()
        if not self._stopping:
            log.warning(
                "Simulator %s (pid %d) exited with status %s; its device stops"
                " answering%s",
                name,
                process.pid,
                code,
                self._log_hint(name),
            )

    def _log_hint(self, name: str) -> str:
        path = self._logs.get(name)
        if path is None:
            return ""
        tail = path.read_text(errors="replace").strip().splitlines()[-5:]
        return f"; its log {path} ends with:\n  " + "\n  ".join(tail)


def _stop_with_parent() -> None:
    """Ask Linux to send SIGTERM to the simulator when its parent dies.

    A `vigie run` killed with SIGKILL then leaves no simulator behind holding a port.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the simulator outlives a killed parent


PR_SET_PDEATHSIG = 1


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
