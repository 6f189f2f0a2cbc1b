"""An invalid config.yaml stops `vigie` with status 2 and one clear line."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((REPO / "config.yaml").read_text())


def run_vigie(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def write_config(tmp_path: Path, mutate) -> Path:
    config = copy.deepcopy(BASE)
    mutate(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def device(config: dict, name: str) -> dict:
    return next(d for d in config["devices"] if d["name"] == name)


def tag(config: dict, device_name: str, tag_name: str) -> dict:
    return next(t for t in device(config, device_name)["tags"] if t["name"] == tag_name)


def add_duplicate_tag(config: dict) -> None:
    tags = device(config, "PS1")["tags"]
    tags.append(dict(tags[0]))


CASES = [
    pytest.param(
        lambda c: device(c, "PS1").update(pol_interval_s=2),
        "devices[0].pol_interval_s",
        "unknown key 'pol_interval_s'",
        id="unknown-key",
    ),
    pytest.param(
        lambda c: tag(c, "RES1", "level").update(adress=3),
        "devices[1].tags[0].adress",
        "unknown key 'adress'",
        id="unknown-tag-key",
    ),
    pytest.param(
        lambda c: device(c, "RES1").update(port="five hundred"),
        "devices[1].port",
        "valid integer",
        id="wrong-type-port",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "discharge_pressure").update(scale="hundredth"),
        "devices[0].tags[6].scale",
        "valid number",
        id="wrong-type-scale",
    ),
    pytest.param(
        lambda c: tag(c, "FDR1", "frequency").update(type="float16"),
        "devices[2].tags[7].type",
        "'float32'",
        id="unknown-data-type",
    ),
    pytest.param(
        add_duplicate_tag,
        "devices[0].tags[8].name",
        "duplicate tag name 'PS1.pump1_running'",
        id="duplicate-tag",
    ),
    pytest.param(
        lambda c: tag(c, "FDR1", "energy").update(address=65535),
        "devices[2].tags[8].address",
        "register out of range: 65535 with 2 registers ends at 65536",
        id="register-past-end",
    ),
    pytest.param(
        lambda c: tag(c, "FDR1", "voltage_l1").update(address=70000),
        "devices[2].tags[0].address",
        "register out of range: 70000",
        id="register-out-of-range",
    ),
    pytest.param(
        lambda c: device(c, "FDR1").update(
            port=device(c, "PS1")["port"], unit_id=7, framing="rtu_over_tcp"
        ),
        "devices[2].framing",
        "'rtu_over_tcp' differs from 'tcp' on devices[0] (PS1), which shares",
        id="gateway-settings-disagree",
    ),
    pytest.param(
        lambda c: device(c, "FDR1").update(protocol="modbus_rtu"),
        "devices[2]",
        "use modbus_tcp or opcua",
        id="unknown-protocol",
    ),
    pytest.param(
        lambda c: tag(c, "RES1", "level")["alarms"].append(
            {"type": "high", "limit": 3}
        ),
        "devices[1].tags[0].alarms[4].type",
        "a second high alarm on the same tag",
        id="duplicate-alarm-type",
    ),
    pytest.param(
        lambda c: tag(c, "RES1", "level")["alarms"][0].pop("limit"),
        "devices[1].tags[0].alarms[0]",
        "a high_high alarm needs 'limit'",
        id="alarm-without-limit",
    ),
]


@pytest.mark.parametrize(("mutate", "key_path", "reason"), CASES)
def test_bad_config_exits_2_naming_key(tmp_path, mutate, key_path, reason):
    path = write_config(tmp_path, mutate)

    result = run_vigie("run", "--config", str(path), "--duration", "1")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert f": {key_path}: " in lines[0]
    assert reason in lines[0]


def test_bad_config_names_yaml_line(tmp_path):
    path = write_config(tmp_path, lambda c: device(c, "RES1").update(port="x"))
    lines = path.read_text().splitlines()
    port_line = next(
        number for number, line in enumerate(lines, 1) if line.strip() == "port: x"
    )

    result = run_vigie("check", "--config", str(path))

    assert result.returncode == 2
    assert f"{path}:{port_line}: devices[1].port" in result.stderr


def test_invalid_yaml_exits_2(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("devices:\n  - name: [PS1\n")

    result = run_vigie("check", "--config", str(path))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "invalid YAML" in result.stderr
    assert str(path) in result.stderr


def test_missing_config_file_exits_2(tmp_path):
    result = run_vigie("run", "--config", str(tmp_path / "absent.yaml"))

    assert result.returncode == 2
    assert "file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_config_is_valid():
    result = run_vigie("check", "--config", "config.yaml")

    assert result.returncode == 0, result.stderr
    assert "4 devices, 25 tags" in result.stdout


MORE_CASES = [
    pytest.param(
        lambda c: device(c, "PS1").update(port=True),
        "devices[0].port",
        "expected a number, not a boolean",
        id="boolean-for-number",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "discharge_pressure").update(scale=float("nan")),
        "devices[0].tags[6].scale",
        "finite number",
        id="nan-scale",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "discharge_pressure").update(scale=0),
        "devices[0].tags[6].scale",
        "0 would turn every reading into the offset",
        id="zero-scale",
    ),
    pytest.param(
        lambda c: device(c, "PS1").update(reconnect_min_s=40),
        "devices[0].reconnect_min_s",
        "is above reconnect_max_s",
        id="reconnect-delays-reversed",
    ),
    pytest.param(
        lambda c: tag(c, "RES1", "level")["alarms"][0].update(limit=4.0),
        "devices[1].tags[0].alarms[0].limit",
        "the high_high limit 4.0 must be above the high limit 4.6",
        id="limits-out-of-order",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "pump1_running").update(
            alarms=[{"type": "high", "limit": 1}]
        ),
        "devices[0].tags[0].alarms[0].type",
        "a high alarm needs a numeric tag, but this tag is bool",
        id="limit-alarm-on-bool",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "pump1_fault")["alarms"][0].update(value=2),
        "devices[0].tags[1].alarms[0].value",
        "2 never matches a bool tag; use true or false",
        id="discrete-number-on-bool",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "pump1_fault")["alarms"][0].update(value="yes"),
        "devices[0].tags[1].alarms[0].value",
        "'yes' never matches a bool tag; use true or false",
        id="discrete-text-on-bool",
    ),
    pytest.param(
        lambda c: tag(c, "PS1", "pump1_fault")["alarms"][0].update(value=1.5),
        "devices[0].tags[1].alarms[0].value",
        "expected true or false, a whole number or a quoted text, not 1.5",
        id="discrete-float-value",
    ),
    pytest.param(
        lambda c: device(c, "WTP1").update(endpoint="opc.tcp://127.0.0.1:99999/x"),
        "devices[3].endpoint",
        "invalid port 99999",
        id="opcua-port-out-of-range",
    ),
    pytest.param(
        lambda c: device(c, "RES1").update(port=device(c, "PS1")["port"]),
        "devices[1].port",
        "a simulated device needs a port of its own",
        id="simulators-share-port",
    ),
    pytest.param(
        lambda c: c.update(devices=[]),
        "devices",
        "expected a list with at least one entry",
        id="no-devices",
    ),
    pytest.param(
        lambda c: c.update(site="x"),
        "site",
        "expected a mapping of keys to values",
        id="section-not-a-mapping",
    ),
]


@pytest.mark.parametrize(("mutate", "key_path", "reason"), MORE_CASES)
def test_suspicious_value_exits_2(tmp_path, mutate, key_path, reason):
    path = write_config(tmp_path, mutate)

    result = run_vigie("check", "--config", str(path))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f": {key_path}: " in lines[0]
    assert reason in lines[0]


RAW_CASES = [
    pytest.param(b"site:\n  name: \xff\xfe\n", "not UTF-8 text", id="not-utf8"),
    pytest.param(b"a: " + b"[" * 5000, "nested too deeply", id="deep-nesting"),
    pytest.param(b"port: " + b"9" * 5001, "invalid YAML value", id="huge-integer"),
    pytest.param(
        b"site:\n  timezone: UTC\n  timezone: Africa/Casablanca\n",
        "line 3, column 3: invalid YAML: duplicate key 'timezone' (first given at"
        " line 2)",
        id="duplicate-key",
    ),
    pytest.param(b"\x00\x01", "invalid YAML: unacceptable character", id="binary"),
    pytest.param(b"- a\n- b\n", "expected a mapping of settings", id="top-level-list"),
    pytest.param(b"", "expected a mapping of settings", id="empty-file"),
]


@pytest.mark.parametrize(("content", "reason"), RAW_CASES)
def test_unreadable_config_exits_2(tmp_path, content, reason):
    path = tmp_path / "raw.yaml"
    path.write_bytes(content)

    result = run_vigie("check", "--config", str(path))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert reason in lines[0]
