"""`vigie probe modbus` against a simulator and a hand-framed server."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from modbus_cases_wire import WireServer, register_responder

from tests.ports import free_ports
from vigie.commands import probe

REPO = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigie")
    commands = parser.add_subparsers(dest="command", required=True)
    probe.register(commands)
    return parser.parse_args(["probe", "modbus", *argv])


async def run_probe(capsys, *argv: str) -> tuple[int, list[str]]:
    """Run the command in a thread, as its own asyncio.run needs a loop of its own."""
    status = await asyncio.to_thread(probe.run, parse(*argv))
    return status, capsys.readouterr().out.splitlines()


def echo_writes(_unit: int, pdu: bytes) -> bytes:
    return pdu[:5]


def wait_for_port(port: int, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def control(port: int, request: dict) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(sock.makefile().readline())


@pytest.fixture
def pumping_station(tmp_path):
    """The PS1 simulator on a free port, with its control port; yields both ports."""
    port, control_port = free_ports(2)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    station = next(device for device in config["devices"] if device["name"] == "PS1")
    station["port"] = port
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp_path / "sim.log").open("w")
    process = subprocess.Popen(
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
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for_port(port)
        assert wait_for_port(control_port)
        yield port, control_port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def test_probe_reads_simulator(pumping_station, capsys):
    port, control_port = pumping_station
    assert control(control_port, {"force": "pump1_current", "value": 12.5}) == {
        "ok": True
    }
    assert control(control_port, {"force": "discharge_pressure", "value": 4.21}) == {
        "ok": True
    }

    status, lines = await run_probe(
        capsys, f"127.0.0.1:{port}", "--kind", "input", "--address", "0", "--count", "5"
    )

    assert status == 0
    assert (
        lines[0]
        == f"127.0.0.1:{port} unit 1: input 0 count 5 (0-based protocol addresses)"
    )
    assert lines[3] == '      0  0x4148   16712   16712    18497  "AH"'
    assert lines[4] == '      1  0x0000       0       0        0  ".."'
    assert lines[7] == '      4  0x01A5     421     421    42241  ".."'
    float_row = next(line for line in lines if line.startswith("      0  float32"))
    assert float_row.split()[2] == "12.5"


async def test_probe_unit_255_no_answer(capsys):
    async with WireServer(lambda unit, pdu: None) as server:
        status, lines = await run_probe(
            capsys, f"127.0.0.1:{server.port}", "--unit", "255", "--timeout", "0.5"
        )

    assert status == 1
    message = (
        "vigie probe: no answer from unit 255 within 0.5 s (read holding 0 count 8)"
    )
    assert lines == [message]
    assert server.requests[0] == (255, bytes.fromhex("03 00 00 00 08"))


async def test_probe_exception_in_plain_words(capsys):
    async with WireServer(register_responder({"input": {}})) as server:
        status, lines = await run_probe(
            capsys,
            f"127.0.0.1:{server.port}",
            "--kind",
            "input",
            "--address",
            "5219",
            "--count",
            "12",
        )

    assert status == 1
    message = (
        "vigie probe: unit 1 returned exception 2 (illegal data address) for read"
        " input 5219 count 12"
    )
    assert lines == [message]


async def test_probe_writes_negative_int16_fc06(capsys):
    async with WireServer(echo_writes) as server:
        status, lines = await run_probe(
            capsys,
            f"127.0.0.1:{server.port}",
            "--address",
            "10",
            "--write",
            "-20",
            "--type",
            "int16",
        )

    assert status == 0
    assert server.requests == [(1, bytes.fromhex("06 00 0A FF EC"))]
    message = (
        f"127.0.0.1:{server.port} unit 1: wrote -20 as int16 (ABCD) to holding 10:"
        " FC06 data 0xFFEC"
    )
    assert lines == [message]


async def test_probe_broadcast_write_awaits_no_response(capsys):
    def silent(_unit: int, pdu: bytes) -> None:
        return None

    async with WireServer(silent) as server:
        status, lines = await run_probe(
            capsys,
            f"127.0.0.1:{server.port}",
            "--unit",
            "0",
            "--address",
            "10",
            "--write",
            "-20",
            "--type",
            "int16",
            "--broadcast",
            "--timeout",
            "5",
        )
        for _ in range(100):
            if server.requests:
                break
            await asyncio.sleep(0.05)

    assert status == 0
    assert server.requests == [(0, bytes.fromhex("06 00 0A FF EC"))]
    assert lines == [
        f"127.0.0.1:{server.port} unit 0: broadcast -20 as int16 (ABCD) to holding 10:"
        " FC06 data 0xFFEC, no response awaited"
    ]


async def test_probe_broadcast_needs_unit_0(capsys):
    status, lines = await run_probe(
        capsys, "127.0.0.1:1", "--write", "1", "--type", "int16", "--broadcast"
    )

    assert status == 2
    assert lines == [
        "vigie probe: --broadcast sends a --write to unit 0: add --write and --unit 0"
    ]


async def test_probe_writes_float_fc16(capsys):
    async with WireServer(echo_writes) as server:
        status, _lines = await run_probe(
            capsys,
            f"127.0.0.1:{server.port}",
            "--address",
            "100",
            "--write",
            "31.433521",
            "--type",
            "float32",
            "--byte-order",
            "DCBA",
        )

    assert status == 0
    assert server.requests == [(1, bytes.fromhex("10 00 64 00 02 04 DA 77 FB 41"))]


async def test_probe_refuses_out_of_range_before_sending(capsys):
    async with WireServer(echo_writes) as server:
        status, lines = await run_probe(
            capsys,
            f"127.0.0.1:{server.port}",
            "--write",
            "-40000",
            "--type",
            "int16",
        )

    assert status == 2
    assert server.requests == []
    message = (
        "vigie probe: not sent: -40000 is out of range for int16: it takes -32768"
        " to 32767"
    )
    assert lines == [message]


async def test_probe_suggests_raw_notation_for_sunspec(capsys):
    words = {40000: 0x5375, 40001: 0x6E53, 40002: 1, 40003: 66}
    async with WireServer(register_responder({"holding": words})) as server:
        status, lines = await run_probe(
            capsys, f"127.0.0.1:{server.port}", "--address", "40000", "--count", "4"
        )

    assert status == 0
    assert server.requests == [(1, bytes.fromhex("03 9C 40 00 04"))]
    assert 'ASCII: "SunS...B"' in lines
    assert lines[-4].startswith(
        'Suggestion: "SunS" at protocol address 40000 starts a SunSpec map.'
    )
    assert lines[-1].endswith("The probe changed no configuration.")


async def test_probe_connection_refused(capsys):
    (port,) = free_ports(1)

    status, lines = await run_probe(capsys, f"127.0.0.1:{port}", "--timeout", "0.5")

    assert status == 1
    message = (
        f"vigie probe: cannot connect to 127.0.0.1:{port}: no server accepted the"
        " connection"
    )
    assert lines == [message]


def test_registers_formatted_in_every_order():
    lines = probe.format_registers(0, [0x8EBF, 0x7B14])

    assert lines[1] == '      0  0x8EBF   36543  -28993    49038  ".."'
    assert lines[2] == '      1  0x7B14   31508   31508     5243  "{."'
    float_row = next(line for line in lines if "float32" in line)
    expected = [
        format(struct.unpack(">f", bytes.fromhex(bits))[0], ".7g")
        for bits in ["8EBF7B14", "7B148EBF", "BF8E147B", "147BBF8E"]
    ]
    assert float_row.split() == ["0", "float32", *expected]
    assert float_row.split()[4] == "-1.11"
    assert 'ASCII: "..{."' in lines
    assert 'ASCII, bytes swapped: "...{"' in lines
