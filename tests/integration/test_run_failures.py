"""`vigie run` when its start-up or its stop goes wrong."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.integration.network import REPO, wait_for, write_network_config


def run_vigie(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def simulators_of(config_path) -> list[int]:
    """Return the pids of device simulators started for this config file."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                words = cmdline.read().split(b"\0")
        except OSError:
            continue
        if b"device_sims" in words and str(config_path).encode() in words:
            pids.append(int(entry))
    return pids


@pytest.fixture
def listener():
    """A plain TCP listener on 127.0.0.1 that accepts and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_simulator_port_taken_fails_start(tmp_path, listener):
    port = listener.getsockname()[1]
    path, _ = write_network_config(
        tmp_path, mutate=lambda c: c["devices"][0].update(port=port)
    )

    result = run_vigie("run", "--config", str(path), "--duration", "5")

    assert result.returncode == 1
    assert f"cannot simulate PS1: 127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert simulators_of(path) == []


def test_dashboard_port_taken_fails_before_simulators(tmp_path, listener):
    port = listener.getsockname()[1]
    path, _ = write_network_config(
        tmp_path, mutate=lambda c: c["dashboard"].update(port=port)
    )

    result = run_vigie("run", "--config", str(path), "--duration", "5")

    assert result.returncode == 1
    assert f"dashboard cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert simulators_of(path) == []


def test_unwritable_data_dir_fails_start(tmp_path):
    path, _ = write_network_config(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    result = run_vigie(
        "run", "--config", str(path), "--data-dir", str(blocker / "sub"), "--no-sim"
    )

    assert result.returncode == 1
    assert f"data directory {blocker / 'sub'} cannot be used" in result.stderr
    assert "Traceback" not in result.stderr


def test_damaged_alarm_journal_fails_start(tmp_path):
    path, config = write_network_config(tmp_path)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "alarms.sqlite").write_bytes(os.urandom(4096))

    result = run_vigie("run", "--config", str(path), "--no-sim", "--duration", "5")

    assert result.returncode == 1
    assert f"cannot open the files in {data_dir}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("duration", ["nan", "inf", "0", "-3", "soon"])
def test_invalid_duration_exits_2(tmp_path, duration):
    path, _ = write_network_config(tmp_path)

    result = run_vigie("run", "--config", str(path), "--duration", duration)

    assert result.returncode == 2
    assert "--duration" in result.stderr


def test_unknown_simulated_device_exits_2(tmp_path):
    path, _ = write_network_config(tmp_path)

    result = run_vigie("sim", "--config", str(path), "--device", "NOPE")

    assert result.returncode == 2
    assert "unknown device 'NOPE'" in result.stderr


def start_vigie(path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vigie.cli", "run", "--config", str(path)]
        + ["--no-dashboard", "--duration", "120"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )


def test_second_sigterm_leaves_no_simulator(tmp_path):
    path, _ = write_network_config(tmp_path)
    vigie = start_vigie(path)
    try:
        wait_for(lambda: len(simulators_of(path)) == 4, "four simulators")
        wait_for(lambda: (tmp_path / "data" / "alarms.sqlite").exists(), "runtime")
        time.sleep(1.0)

        vigie.send_signal(signal.SIGTERM)
        # Two signals sent back to back merge into one pending signal.
        time.sleep(0.2)
        vigie.send_signal(signal.SIGTERM)
        status = vigie.wait(timeout=60)
    finally:
        if vigie.poll() is None:
            vigie.kill()

    # 1 when the second signal cut the stop short, 0 when the clean stop was over.
    assert status in (0, 1)
    wait_for(lambda: simulators_of(path) == [], "simulators gone", timeout_s=20)


def test_sigkill_leaves_no_simulator(tmp_path):
    path, _ = write_network_config(tmp_path)
    vigie = start_vigie(path)
    try:
        wait_for(lambda: len(simulators_of(path)) == 4, "four simulators")
        vigie.send_signal(signal.SIGKILL)
        vigie.wait(timeout=30)
    finally:
        if vigie.poll() is None:
            vigie.kill()

    wait_for(lambda: simulators_of(path) == [], "simulators gone", timeout_s=20)
