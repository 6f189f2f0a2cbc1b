"""Output of vigie commands read by a pipe that closes early."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_output_closed_early_exits_quietly(tmp_path):
    # `vigie check | head -1`: the reader closes the pipe after one line.
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text(encoding="utf-8"))
    process = subprocess.Popen(
        [sys.executable, "-m", "vigie.cli", "check", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    process.stdout.close()
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=120)

    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
    assert code == 0
