"""Simulated network, collectors, historian, alarms and status API, run together.

Every part is real: simulator processes serving Modbus TCP and OPC UA on loopback,
`vigie run` as a subprocess, SQLite files and the InfluxDB server of the test session.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.integration.network import (
    ALL_TAGS,
    REPO,
    VigieProcess,
    all_tags_good,
    journal,
    wait_for,
    write_network_config,
)


def sqlite_counts(data_dir: str) -> dict[str, int]:
    with sqlite3.connect(Path(data_dir) / "history.sqlite") as db:
        rows = db.execute(
            "SELECT tag, count(*) FROM samples_by_name WHERE quality = 0 GROUP BY tag"
        ).fetchall()
    return dict(rows)


def test_network_limit_alarm_ack_and_comm_loss(network):
    vigie, sims, config = network
    data_dir = config["data_dir"]
    wait_for(lambda: all_tags_good(vigie), "every tag good")

    # A value driven over its high limit raises the alarm.
    assert sims["PS1"].control({"force": "discharge_pressure", "value": 7.25})["ok"]
    alarm_id = "PS1.discharge_pressure.high"
    alarm = wait_for(lambda: vigie.alarm(alarm_id), f"alarm {alarm_id}")
    assert alarm["state"] == "unack_active"
    assert alarm["value"] == pytest.approx(7.25)
    assert alarm["limit"] == 6.5
    assert vigie.tag("PS1.discharge_pressure")["value"] == pytest.approx(7.25)

    # Acknowledging changes its state, in the status and in the journal.
    answer = vigie.post(
        f"/api/alarms/{urllib.parse.quote(alarm_id)}/acknowledge", {"user": "e2e"}
    )
    assert answer == {"ok": True, "state": "ack_active"}
    assert vigie.alarm(alarm_id)["state"] == "ack_active"
    assert journal(data_dir, alarm_id) == [
        ("normal", "unack_active", None),
        ("unack_active", "ack_active", "e2e"),
    ]

    # A stopped simulator raises its device's communication-loss alarm.
    sims["RES1"].stop()
    wait_for(lambda: not vigie.device("RES1")["connected"], "RES1 disconnected")
    comm = wait_for(lambda: vigie.alarm("RES1.comm_loss"), "RES1.comm_loss alarm")
    assert comm["state"] == "unack_active"
    status = vigie.status()
    res1_tags = [t for t in status["tags"] if t["device"] == "RES1"]
    assert len(res1_tags) == 3
    assert all(t["quality"] == "bad" for t in res1_tags)
    assert all(t["reason"] == "comm_failure" for t in res1_tags)
    others = [t for t in status["tags"] if t["device"] != "RES1"]
    assert all(t["quality"] == "good" for t in others)

    # Restarting it recovers the tags and returns the alarm to normal.
    sims["RES1"].start()
    wait_for(lambda: vigie.device("RES1")["connected"], "RES1 reconnected")
    wait_for(lambda: all_tags_good(vigie), "every tag good again")
    comm = wait_for(
        lambda: (
            (a := vigie.alarm("RES1.comm_loss")) and a["state"] == "unack_rtn" and a
        ),
        "RES1.comm_loss returned to normal",
    )
    assert comm["state"] == "unack_rtn"

    # A clean stop exits 0, prints the summary and stored every tag in SQLite.
    status, stdout = vigie.stop()
    assert status == 0, vigie.log()[-3000:]
    for device in ("PS1", "RES1", "FDR1", "WTP1"):
        assert device in stdout
    assert "0 samples lost, 0 kept in the spool" in stdout
    counts = sqlite_counts(data_dir)
    assert sorted(counts) == sorted(
        f"{d['name']}.{t['name']}" for d in config["devices"] for t in d["tags"]
    )
    assert journal(data_dir, "RES1.comm_loss")[:2] == [
        ("normal", "unack_active", None),
        ("unack_active", "unack_rtn", None),
    ]


def test_alarm_state_survives_restart(tmp_path, network):
    vigie, sims, config = network
    wait_for(lambda: all_tags_good(vigie), "every tag good")
    assert sims["PS1"].control({"force": "pump1_fault", "value": True})["ok"]
    alarm_id = "PS1.pump1_fault.discrete"
    wait_for(lambda: vigie.alarm(alarm_id), f"alarm {alarm_id}")
    vigie.post(f"/api/alarms/{alarm_id}/acknowledge", {"user": "night shift"})
    status, _ = vigie.stop()
    assert status == 0

    second = VigieProcess(vigie.config_path, config, ["--no-sim"])
    second.start()
    try:
        wait_for(lambda: all_tags_good(second), "every tag good after restart")
        alarm = second.alarm(alarm_id)
        assert alarm["state"] == "ack_active"
        assert alarm["acked_by"] == "night shift"
    finally:
        second.stop()
    rows = journal(config["data_dir"], alarm_id)
    assert rows == [
        ("normal", "unack_active", None),
        ("unack_active", "ack_active", "night shift"),
    ]


def test_run_with_duration_stores_every_tag(tmp_path):
    path, config = write_network_config(tmp_path)
    data_dir = tmp_path / "chosen"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vigie.cli",
            "run",
            "--config",
            str(path),
            "--duration",
            "20",
            "--data-dir",
            str(data_dir),
            "--no-dashboard",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Vigie ran for" in result.stdout
    counts = sqlite_counts(str(data_dir))
    assert len(counts) == ALL_TAGS
    assert min(counts.values()) >= 1
    assert not Path(config["data_dir"]).exists()


@pytest.mark.influxdb
def test_run_stores_every_tag_in_influxdb(tmp_path, influxdb_url):
    database = "vigie_e2e"
    historian = {
        "backend": "influxdb",
        "flush_interval_s": 0.5,
        "influxdb": {"url": influxdb_url, "database": database},
    }
    path, config = write_network_config(tmp_path, historian=historian)

    result = subprocess.run(
        [sys.executable, "-m", "vigie.cli", "run", "--config", str(path)]
        + ["--duration", "15", "--no-dashboard"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    # Integer tags (the energy counter) have their own measurement, so that no field
    # of one measurement ever holds both integers and floats.
    query = urllib.parse.urlencode(
        {
            "db": database,
            "q": 'SELECT count("quality") FROM "telemetry", "telemetry_integer"'
            ' WHERE "quality" = 0 GROUP BY "tag"',
        }
    )
    with urllib.request.urlopen(f"{influxdb_url}/query?{query}", timeout=10) as answer:
        document = json.load(answer)
    series = document["results"][0]["series"]
    counts = {s["tags"]["tag"]: s["values"][0][1] for s in series}
    measurements = {s["tags"]["tag"]: s["name"] for s in series}
    assert measurements["FDR1.energy"] == "telemetry_integer"
    assert measurements["FDR1.active_power"] == "telemetry"
    expected = {
        f"{d['name']}.{t['name']}" for d in config["devices"] for t in d["tags"]
    }
    assert set(counts) == expected
    assert min(counts.values()) >= 1
