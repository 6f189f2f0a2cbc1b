"""Times and intervals on the command line: one set of forms for every command."""

import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from vigie.times import join_time_options, parse_duration, parse_time

REPO = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Africa/Casablanca")
NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-1h", NOW - 3600),
        ("-30m", NOW - 1800),
        ("-7d", NOW - 7 * 86400),
        ("-1.5h", NOW - 5400),
        ("1717236000", 1717236000.0),
        ("1717236000.25", 1717236000.25),
        ("2024-06-01T12:00:00+02:00", 1717236000.0),
        ("2024-06-01T12:00:00Z", 1717243200.0),
        # Casablanca is at UTC+1 in June 2024, outside Ramadan.
        ("2024-06-01T11:00", 1717236000.0),
        ("2024-06-01", 1717196400.0),
    ],
)
def test_time_forms(text, expected):
    assert parse_time(text, ZONE, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "-1 h", "-1y", "1h", "2024-13-01"])
def test_bad_time_names_forms(text):
    with pytest.raises(ValueError, match=f"invalid time '{text}': use now, a relative"):
        parse_time(text, ZONE, NOW)


def test_bad_interval_rejected():
    with pytest.raises(ValueError, match="invalid interval '1 min'"):
        parse_duration("1 min")


def test_zero_interval_rejected():
    with pytest.raises(ValueError, match="it must be above 0"):
        parse_duration("0m")


def test_relative_time_options_joined():
    argv = ["history", "A.b", "--from", "-1h", "--to", "now", "--every", "5m"]

    assert join_time_options(argv) == [
        "history",
        "A.b",
        "--from=-1h",
        "--to",
        "now",
        "--every",
        "5m",
    ]


def test_option_after_time_option_kept():
    assert join_time_options(["--from", "--to", "now"]) == ["--from", "--to", "now"]
    assert join_time_options(["--from"]) == ["--from"]


def run_vigie(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize(
    "command",
    [
        ["history", "RES1.level", "--from", "-1h"],
        ["alarms", "report", "--from", "-7d"],
        ["notifications", "log", "--from", "-1h", "--to", "now"],
    ],
)
def test_commands_take_relative_times(tmp_path, command):
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text(encoding="utf-8"))
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    result = run_vigie(
        *command, "--config", str(config), "--data-dir", str(data_dir), cwd=tmp_path
    )

    assert "expected one argument" not in result.stderr
    assert "invalid time" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["history", "RES1.level", "--from", "yesterday"],
        ["alarms", "report", "--from", "yesterday"],
        ["notifications", "log", "--from", "yesterday"],
    ],
)
def test_commands_reject_bad_time_with_status_2(tmp_path, command):
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text(encoding="utf-8"))

    result = run_vigie(*command, "--config", str(config), cwd=tmp_path)

    assert result.returncode == 2
    assert "invalid time 'yesterday': use now, a relative time" in result.stderr
    assert "Traceback" not in result.stderr
