"""`vigie run` storing into a real InfluxDB that goes away, and a SIGKILL of the
runtime: every sample appears exactly once, in order.

About 60 s of field behaviour compressed to about 15 s: the server is stopped for
about 6 s while the simulated network is polled every second.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.influx_server import InfluxServer, free_port, require_influxd
from tests.integration.network import REPO, wait_for, write_network_config

pytestmark = pytest.mark.influxdb

DATABASE = "runtime"


def historian_settings(url):
    return {
        "backend": "influxdb",
        "flush_interval_s": 0.5,
        "retry_min_s": 0.2,
        "retry_max_s": 1.0,
        "influxdb": {"url": url, "database": DATABASE, "timeout_s": 2},
    }


class Runtime:
    """`vigie run --no-dashboard` in its own process group with its simulators."""

    def __init__(self, config_path: Path, log_path: Path):
        self.config_path = config_path
        self.log_path = log_path

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vigie.cli",
                "run",
                "--no-dashboard",
                "--config",
                str(self.config_path),
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        stdout, _ = self.process.communicate(timeout=60)
        self.log.close()
        return stdout.decode(errors="replace")

    def kill(self):
        """SIGKILL the runtime and the simulators it started (its process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.communicate(timeout=30)
        self.log.close()


def collected_by_device(summary: str) -> dict[str, int]:
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("device"))
    counts = {}
    for line in lines[start + 1 :]:
        if line.startswith("historian:"):
            break
        device, collected, _stored = line.split()
        counts[device] = int(collected)
    return counts


def stored_points(url) -> list[tuple[str, int]]:
    """Return (tag, ts ns) of every stored point, in the server's time order."""
    statement = (
        'SELECT "quality", "tag" FROM "telemetry", "telemetry_integer" ORDER BY time'
    )
    params = urllib.parse.urlencode({"db": DATABASE, "q": statement, "epoch": "ns"})
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=30) as response:
        result = json.load(response)["results"][0]
    points = []
    for series in result.get("series", []):
        points.extend((tag, ts) for ts, _quality, tag in series["values"])
    return points


def spool_rows(data_dir: Path) -> list[tuple[str, int]]:
    path = data_dir / "historian-spool.sqlite"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute("SELECT tag, ts FROM spool ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.fixture
def server(tmp_path):
    server = InfluxServer(require_influxd(), tmp_path / "influxdb", free_port())
    server.start()
    yield server
    server.stop()


def test_server_outage_loses_no_sample(tmp_path, server):
    config_path, config = write_network_config(tmp_path, historian_settings(server.url))
    runtime = Runtime(config_path, tmp_path / "vigie.log")
    runtime.start()
    try:
        wait_for(lambda: len(stored_points(server.url)) > 100, "first points stored")
        server.stop()
        data_dir = Path(config["data_dir"])
        wait_for(lambda: len(spool_rows(data_dir)) > 100, "samples spooled")
        time.sleep(3)
        server.start()
        wait_for(lambda: not spool_rows(data_dir), "spool replayed")
        time.sleep(2)
    finally:
        summary = runtime.stop()

    collected = collected_by_device(summary)
    points = stored_points(server.url)
    by_device = {}
    for tag, _ts in points:
        device = tag.split(".", 1)[0]
        by_device[device] = by_device.get(device, 0) + 1
    assert by_device == collected
    assert len(set(points)) == len(points)
    by_tag = {}
    for tag, ts in points:
        by_tag.setdefault(tag, []).append(ts)
    assert len(by_tag) == 25
    for times in by_tag.values():
        assert all(a < b for a, b in zip(times, times[1:]))
    assert "0 samples lost" in summary
    with sqlite3.connect(Path(config["data_dir"]) / "alarms.sqlite") as journal:
        rows = journal.execute(
            "SELECT from_state, to_state FROM journal"
            " WHERE alarm_id = 'historian.unreachable' ORDER BY id"
        ).fetchall()
    assert rows == [("normal", "unack_active"), ("unack_active", "unack_rtn")]


def test_sigkill_keeps_what_spool_accepted(tmp_path, server):
    config_path, config = write_network_config(tmp_path, historian_settings(server.url))
    data_dir = Path(config["data_dir"])
    runtime = Runtime(config_path, tmp_path / "vigie.log")
    runtime.start()
    try:
        wait_for(lambda: len(stored_points(server.url)) > 50, "first points stored")
        server.stop()
        wait_for(lambda: len(spool_rows(data_dir)) > 200, "samples spooled")
        # Rows read from the spool before the kill were committed with fsync.
        accepted = spool_rows(data_dir)
    finally:
        runtime.kill()

    server.start()
    again = Runtime(config_path, tmp_path / "vigie-again.log")
    again.start()
    try:
        wait_for(lambda: not spool_rows(data_dir), "spool replayed after restart")
    finally:
        again.stop()

    points = stored_points(server.url)
    counts = {}
    for point in points:
        counts[point] = counts.get(point, 0) + 1
    missing = [row for row in accepted if row not in counts]
    assert missing == []
    assert all(counts[row] == 1 for row in accepted)
    assert len(set(points)) == len(points)


def test_spool_overflow_raises_system_alarm(tmp_path, server):
    # A spool of 100 samples overflows within seconds of an outage: the runtime
    # raises the system alarm, and its summary counts the samples dropped.
    settings = {**historian_settings(server.url), "spool": {"max_samples": 100}}
    config_path, config = write_network_config(tmp_path, settings)
    journal_path = Path(config["data_dir"]) / "alarms.sqlite"
    runtime = Runtime(config_path, tmp_path / "vigie.log")
    runtime.start()
    try:
        wait_for(lambda: len(stored_points(server.url)) > 50, "first points stored")
        server.stop()
        wait_for(
            lambda: (
                overflow_transitions(journal_path)[:1] == [("normal", "unack_active")]
            ),
            "spool overflow alarm raised",
        )
    finally:
        summary = runtime.stop()

    dropped = int(summary.split(" dropped by the spool limit")[0].rsplit(" ", 1)[1])
    assert dropped > 0
    assert overflow_transitions(journal_path)[0] == ("normal", "unack_active")


def overflow_transitions(journal_path: Path) -> list[tuple[str, str]]:
    if not journal_path.exists():
        return []
    with sqlite3.connect(journal_path, timeout=10) as journal:
        return journal.execute(
            "SELECT from_state, to_state FROM journal"
            " WHERE alarm_id = 'historian.spool_overflow' ORDER BY id"
        ).fetchall()
