"""Start and stop simulator processes: for tests and for the runtime launcher."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

log = logging.getLogger(__name__)


def start_process(
    config_path: str | os.PathLike,
    device_name: str,
    control_port: int | None = None,
    log_level: str = "INFO",
    **popen_args,
) -> subprocess.Popen:
    """Start ``python -m device_sims`` for one device. It does not wait for the port.

    ``popen_args`` go to subprocess.Popen, for example ``stderr=subprocess.PIPE``.
    """
    command = [
        sys.executable,
        "-m",
        "device_sims",
        "--config",
        str(config_path),
        "--device",
        device_name,
        "--log-level",
        log_level,
    ]
    if control_port is not None:
        command += ["--control-port", str(control_port)]
    proc = subprocess.Popen(command, **popen_args)
    log.info("started simulator %s (pid %d)", device_name, proc.pid)
    return proc


def wait_for_port(
    port: int,
    host: str = "127.0.0.1",
    timeout_s: float = 20.0,
    proc: subprocess.Popen | None = None,
) -> None:
    """Wait until ``host:port`` accepts a TCP connection.

    Raises TimeoutError after ``timeout_s``, or RuntimeError as soon as ``proc``
    exits, since its port will then never open.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"simulator process {proc.pid} exited with code {proc.returncode}"
                f" before {host}:{port} accepted connections"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{host}:{port} did not accept connections within {timeout_s} s"
                ) from None
            time.sleep(0.05)


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """Send SIGTERM, wait up to ``timeout_s``, then kill. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning(
                "simulator pid %d ignored SIGTERM for %s s; killing it",
                proc.pid,
                timeout_s,
            )
            proc.kill()
            proc.wait()
    log.info("simulator pid %d exited with code %d", proc.pid, proc.returncode)
    return proc.returncode
