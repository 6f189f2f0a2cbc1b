"""`vigie discover opcua` against the treatment-plant simulator in its own process."""

from __future__ import annotations

import argparse
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from opcua_server import unused_endpoint

from device_sims.launch import start_process, stop_process, wait_for_port
from vigie.commands import discover
from vigie.config import OpcUaTag
from vigie.errors import VigieError

MAIN_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
NSU = "nsu=urn:vigie:sim:treatment-plant;s="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wtp1_endpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("discover")
    raw = yaml.safe_load(MAIN_CONFIG.read_text(encoding="utf-8"))
    port = free_port()
    raw["devices"] = [d for d in raw["devices"] if d["name"] == "WTP1"]
    # The site-wide alarm rules name tags of the other devices.
    raw.pop("alarms", None)
    endpoint = raw["devices"][0]["endpoint"].replace(":14840/", f":{port}/")
    raw["devices"][0]["endpoint"] = endpoint
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")

    with (folder / "sim.log").open("wb") as log:
        proc = start_process(config, "WTP1", stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout_s=30.0, proc=proc)
        yield endpoint
    finally:
        stop_process(proc)


def run_discover(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="vigie")
    discover.register(parser.add_subparsers())
    args = parser.parse_args(["discover", *argv])
    return args.handler(args)


def test_discover_prints_tag_entries(wtp1_endpoint, capsys):
    assert run_discover("opcua", wtp1_endpoint) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[0] == f"## 5 variables found on {wtp1_endpoint} below i=85."
    assert lines[1] == "    tags:"
    assert lines[2:6] == [
        "      ## Quality/Turbidity (Double)",
        f'      - {{name: quality_turbidity, node: "{NSU}Quality/Turbidity",'
        " type: float, unit: NTU}",
        "      ## Quality/ChlorineResidual (Double)",
        "      - {name: quality_chlorine_residual,"
        f' node: "{NSU}Quality/ChlorineResidual", type: float, unit: mg/L}}',
    ]
    assert lines[-2:] == [
        "      ## Filters/Filter2/Backwash (Boolean)",
        "      - {name: filters_filter2_backwash,"
        f' node: "{NSU}Filters/Filter2/Backwash", type: bool}}',
    ]


def test_discover_output_is_valid_config(wtp1_endpoint, capsys):
    run_discover("opcua", wtp1_endpoint, "--root", f"{NSU}Filters")
    output = capsys.readouterr().out

    tags = [OpcUaTag.model_validate(tag) for tag in yaml.safe_load(output)["tags"]]
    assert [tag.name for tag in tags] == ["filter1_backwash", "filter2_backwash"]
    assert [tag.type for tag in tags] == ["bool", "bool"]


def test_discover_depth_limits_browse(wtp1_endpoint, capsys):
    run_discover("opcua", wtp1_endpoint, "--depth", "2")
    output = capsys.readouterr().out

    assert (
        output.splitlines()[0] == f"## 3 variables found on {wtp1_endpoint} below i=85."
    )
    assert "Backwash" not in output


def test_discover_unreachable_endpoint():
    endpoint = unused_endpoint()
    with pytest.raises(VigieError) as caught:
        run_discover("opcua", endpoint, "--timeout", "2")

    message = str(caught.value)
    assert message.startswith(f"cannot connect to {endpoint}: ")
    assert message.endswith(
        "check that the server runs and that host and port are right"
    )
