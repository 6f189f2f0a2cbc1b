import signal
import subprocess
import sys

from pymodbus.client import ModbusTcpClient
from sim_helpers import start_sim, wait_until, write_config

from device_sims.launch import start_process, stop_process


def add_spare_tag(raw):
    station = next(device for device in raw["devices"] if device["name"] == "PS1")
    station["tags"].append(
        {"name": "spare_setpoint", "kind": "holding", "address": 2, "type": "uint16"}
    )


def test_sigterm_stops_simulator_with_exit_0(tmp_path):
    ports = write_config(tmp_path / "config.yaml")
    sim = start_sim(tmp_path / "config.yaml", "RES1", ports["RES1"], tmp_path / "log")

    sim.proc.send_signal(signal.SIGTERM)
    code = sim.proc.wait(timeout=20)

    assert code == 0
    log = sim.log.read_text()
    assert log.count("listening on modbus tcp 127.0.0.1:") == 1
    assert "RES1 simulator stopped" in log


def test_sigint_stops_simulator_with_exit_0(tmp_path):
    ports = write_config(tmp_path / "config.yaml")
    sim = start_sim(tmp_path / "config.yaml", "RES1", ports["RES1"], tmp_path / "log")

    sim.proc.send_signal(signal.SIGINT)

    assert sim.proc.wait(timeout=20) == 0


def test_unknown_tag_reads_0_and_warns(tmp_path):
    ports = write_config(tmp_path / "config.yaml", edit=add_spare_tag)
    sim = start_sim(tmp_path / "config.yaml", "PS1", ports["PS1"], tmp_path / "log")
    client = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=3, retries=1)
    try:
        assert client.connect()
        response = client.read_holding_registers(2, count=1, device_id=1)
    finally:
        client.close()
        code = stop_process(sim.proc)

    assert not response.isError()
    assert response.registers == [0]
    assert code == 0
    log = sim.log.read_text()
    assert log.count("spare_setpoint have no point in the pumping_station model") == 1


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "device_sims", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_non_loopback_device_is_refused(tmp_path):
    def move_away(raw):
        raw["devices"][0]["host"] = "192.0.2.10"

    write_config(tmp_path / "config.yaml", edit=move_away)

    result = run_cli("--config", str(tmp_path / "config.yaml"), "--device", "PS1")

    assert result.returncode == 2
    assert "simulators bind only to loopback" in result.stderr
    assert "192.0.2.10" in result.stderr


def test_device_without_simulate_is_refused(tmp_path):
    def real_device(raw):
        del raw["devices"][1]["simulate"]

    write_config(tmp_path / "config.yaml", edit=real_device)

    result = run_cli("--config", str(tmp_path / "config.yaml"), "--device", "RES1")

    assert result.returncode == 2
    assert "device 'RES1' has no 'simulate' key" in result.stderr


def test_unknown_device_is_refused(tmp_path):
    write_config(tmp_path / "config.yaml")

    result = run_cli("--config", str(tmp_path / "config.yaml"), "--device", "PS9")

    assert result.returncode == 2
    assert "device 'PS9' not found; devices: PS1, RES1, FDR1, WTP1" in result.stderr


def test_port_in_use_exits_with_1(tmp_path):
    ports = write_config(tmp_path / "config.yaml")
    holder = start_sim(tmp_path / "config.yaml", "RES1", ports["RES1"], tmp_path / "a")
    try:
        result = run_cli("--config", str(tmp_path / "config.yaml"), "--device", "RES1")
    finally:
        stop_process(holder.proc)

    assert result.returncode == 1
    assert "RES1 simulator failed to start" in result.stderr


def test_sigterm_during_opcua_start_stops_without_listening(tmp_path):
    # asyncua takes seconds to load its address space; a SIGTERM sent then stops
    # the simulator there, before it ever listens.
    write_config(tmp_path / "config.yaml")
    log_path = tmp_path / "log"
    with log_path.open("wb") as stream:
        proc = start_process(
            tmp_path / "config.yaml",
            "WTP1",
            None,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "WTP1 simulator starting" in log_path.read_text())
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        stop_process(proc)

    log = log_path.read_text()
    assert code == 0
    assert "SIGTERM during start-up" in log
    assert "listening on" not in log
    assert "Traceback" not in log
