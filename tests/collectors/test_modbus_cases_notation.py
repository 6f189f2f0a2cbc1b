"""Address notation in config.yaml: resolution, and errors that explain the mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigie.config import ModbusDevice, load_config
from vigie.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def device(notation: str | None, tags: list[dict]) -> ModbusDevice:
    fields = {"name": "M1", "protocol": "modbus_tcp", "tags": tags}
    if notation is not None:
        fields["address_notation"] = notation
    return ModbusDevice.model_validate(fields)


def write_config(tmp_path: Path, notation: str, tags: list[dict]) -> Path:
    config = {
        "devices": [
            {
                "name": "M1",
                "protocol": "modbus_tcp",
                "address_notation": notation,
                "tags": tags,
            }
        ]
    }
    path = tmp_path / "notation.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def config_error(tmp_path: Path, notation: str, tags: list[dict]) -> str:
    path = write_config(tmp_path, notation, tags)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_pdu_is_the_default():
    tag = device(None, [{"name": "a", "address": 40001}]).tags[0]

    assert tag.address == 40001
    assert tag.kind == "holding"
    assert tag.reference is None


def test_modicon_references_set_kind_and_address():
    tags = device(
        "modicon",
        [
            {"name": "h", "address": 40001},
            {"name": "h108", "address": 40108},
            {"name": "i", "address": 30001},
            {"name": "d", "address": 10001, "type": "bool"},
            {"name": "c", "address": 1, "type": "bool"},
            {"name": "c10", "address": "00010", "type": "bool"},
            {"name": "c6", "address": "010001", "type": "bool"},
            {"name": "h6", "address": 465536},
            {"name": "i6", "address": 300101, "kind": "input"},
        ],
    ).tags

    resolved = [(tag.kind, tag.address, tag.reference) for tag in tags]
    assert resolved == [
        ("holding", 0, "40001"),
        ("holding", 107, "40108"),
        ("input", 0, "30001"),
        ("discrete_input", 0, "10001"),
        ("coil", 0, "1"),
        ("coil", 9, "00010"),
        ("coil", 10000, "010001"),
        ("holding", 65535, "465536"),
        ("input", 100, "300101"),
    ]


def test_one_based_keeps_kind():
    tags = device(
        "one_based",
        [
            {"name": "first", "address": 1},
            {"name": "last", "kind": "input", "address": 65536},
        ],
    ).tags

    assert [(t.kind, t.address, t.reference) for t in tags] == [
        ("holding", 0, "1"),
        ("input", 65535, "65536"),
    ]


def test_resolved_device_validates_again_unchanged():
    first = device("modicon", [{"name": "v", "address": 40069, "type": "float32"}])

    again = ModbusDevice.model_validate(first.model_dump())

    assert again == first
    assert again.tags[0].address == 68


def test_pdu_keeps_leading_digit():
    tags = device(
        None, [{"name": "a", "address": 30775}, {"name": "b", "address": 40069}]
    )

    assert [tag.address for tag in tags.tags] == [30775, 40069]


def test_modicon_kind_conflict_explains_mapping(tmp_path):
    message = config_error(
        tmp_path, "modicon", [{"name": "v", "kind": "input", "address": 40069}]
    )
    path = tmp_path / "notation.yaml"

    assert message == (
        f"{path}:{line_of(path, 'kind: input')}: devices[0].tags[0].kind: reference"
        " 40069 in modicon notation is holding register 68, but kind is 'input';"
        " set kind: holding or remove it"
    )


def test_pdu_address_past_end_suggests_modicon(tmp_path):
    message = config_error(tmp_path, "pdu", [{"name": "v", "address": 400101}])
    path = tmp_path / "notation.yaml"

    assert message == (
        f"{path}:{line_of(path, 'address: 400101')}: devices[0].tags[0].address:"
        " register out of range: 400101 is past 65535. Addresses are 0-based"
        " protocol (PDU) addresses with address_notation: pdu; if 400101 is a"
        " 4xxxxx reference, set address_notation: modicon on the device (it would"
        " be holding register 100)"
    )


def test_pdu_address_70000_explains_notation(tmp_path):
    message = config_error(tmp_path, "pdu", [{"name": "v", "address": 70000}])

    assert ": devices[0].tags[0].address: register out of range: 70000" in message
    assert "set address_notation: one_based or modicon" in message


def test_modicon_40000_is_no_reference(tmp_path):
    message = config_error(tmp_path, "modicon", [{"name": "v", "address": 40000}])
    path = tmp_path / "notation.yaml"

    assert message.startswith(
        f"{path}:{line_of(path, 'address: 40000')}: devices[0].tags[0].address:"
        " reference 40000 in modicon notation is not a Modicon reference"
    )
    assert message.endswith(
        "40000 is no reference because each range starts at 1 (40001 is holding"
        " register 0), so if 40000 is a protocol address from the manual, set"
        " address_notation: pdu"
    )


def test_modicon_register_past_end_names_reference(tmp_path):
    message = config_error(
        tmp_path, "modicon", [{"name": "v", "address": 465536, "type": "float32"}]
    )

    assert message.endswith(
        "devices[0].tags[0].address: register out of range: reference 465536 is"
        " holding register 65535, and with 2 registers it ends at 65536, past 65535"
    )


def test_one_based_zero_rejected(tmp_path):
    message = config_error(tmp_path, "one_based", [{"name": "v", "address": 0}])

    assert message.endswith(
        "devices[0].tags[0].address: register out of range: 0 is below 1; one_based"
        " numbers start at 1, which is protocol address 0"
    )


def test_reference_key_needs_a_notation(tmp_path):
    message = config_error(
        tmp_path, "pdu", [{"name": "v", "address": 4, "reference": "40005"}]
    )

    assert message.endswith(
        "devices[0].tags[0].reference: applies only with address_notation one_based"
        " or modicon; with pdu, write the protocol address in 'address' (got '40005')"
    )


def test_unknown_notation_rejected(tmp_path):
    message = config_error(tmp_path, "zero_based", [{"name": "v", "address": 0}])

    assert ": devices[0].address_notation: " in message
    assert "'pdu', 'one_based' or 'modicon'" in message


def test_notation_error_exits_2(tmp_path):
    path = write_config(tmp_path, "modicon", [{"name": "v", "address": 20001}])

    result = subprocess.run(
        [sys.executable, "-m", "vigie.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (
        f"{path}:{line_of(path, 'address: 20001')}: devices[0].tags[0].address:"
        " reference 20001 in modicon notation is not a Modicon reference"
    ) in result.stderr
