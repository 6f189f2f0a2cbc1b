"""Pytest plugin: a throwaway InfluxDB 1.x server (Debian's influxd) on loopback.

Fixtures: ``influxdb_url`` (session) and ``influxdb_database`` (a fresh name per test).
Without influxd the tests fail, unless VIGIE_ALLOW_SKIP_INFLUX=1 makes them skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

INFLUXD_PATHS = ("/usr/sbin/influxd", "/usr/bin/influxd")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

CONFIG_TEMPLATE = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_influxd() -> str | None:
    for path in INFLUXD_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("influxd")


class InfluxServer:
    """One influxd process with its own config, data and log under ``root``."""

    def __init__(self, executable: str, root: Path, http_port: int) -> None:
        self.executable = executable
        self.root = root
        self.http_port = http_port
        self.url = f"http://127.0.0.1:{http_port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "influxdb.conf"
        config.write_text(
            CONFIG_TEMPLATE.format(
                root=self.root, rpc_port=free_port(), http_port=self.http_port
            )
        )
        log = open(self.root / "influxd.log", "wb")
        self.process = subprocess.Popen(
            [self.executable, "-config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_for_ping()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as reply:
                    if reply.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)

        self.stop()
        log = (self.root / "influxd.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(
            f"influxd did not respond to {self.url}/ping with 204 within"
            f" {START_TIMEOUT_S:.0f} s (exit code {self.process.returncode});"
            f" end of its log:\n{log}"
        )


def require_influxd() -> str:
    """Return the influxd path, or skip or fail the test when it is missing."""
    executable = find_influxd()
    if executable is not None:
        return executable
    message = (
        "influxd (InfluxDB 1.x) not found in " + ", ".join(INFLUXD_PATHS) + " or PATH"
    )
    if os.environ.get("VIGIE_ALLOW_SKIP_INFLUX") == "1":
        pytest.skip(message)
    pytest.fail(
        f"{message}; install it with `apt-get install influxdb`, or set"
        " VIGIE_ALLOW_SKIP_INFLUX=1 to skip the InfluxDB tests",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def influxdb_url(tmp_path_factory):
    """Start influxd on a free loopback port and return its base URL."""
    executable = require_influxd()
    server = InfluxServer(
        executable, tmp_path_factory.mktemp("influxdb"), free_port()
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def influxdb_database() -> str:
    """Return a database name no other test uses; the writer creates it."""
    return "test_" + uuid.uuid4().hex[:12]
