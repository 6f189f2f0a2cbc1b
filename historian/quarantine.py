"""Dead-letter table for samples that no retry can store.

A sample lands here when the server rejects its point (HTTP 400, such as a field type
conflict with older data) or when it cannot be written at all (a name with a line
break, a timestamp before 2000-01-01, a fraction on an integer tag). Each row keeps
the sample and the reason, for an operator to inspect:
``sqlite3 data/historian-quarantine.sqlite 'SELECT * FROM quarantine'``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from historian.spool import to_row
from vigie.errors import HistorianError
from vigie.model import Sample

FILE_NAME = "historian-quarantine.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    tag TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value,
    is_bool INTEGER NOT NULL,
    quality INTEGER NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL
);
"""


def quarantine_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


class Quarantine:
    """Thread-safe; the file is created on the first rejected sample."""

    def __init__(self, path: str | Path, clock=time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()

    def add(self, rejected: list[tuple[Sample, str]]) -> None:
        """Store (sample, error message) pairs."""
        if not rejected:
            return
        now = self.clock()
        rows = [(now, *to_row(sample), message) for sample, message in rejected]
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path)
                try:
                    conn.executescript(SCHEMA)
                    with conn:
                        conn.executemany(
                            "INSERT INTO quarantine(created, tag, ts, value, is_bool,"
                            " quality, reason, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            rows,
                        )
                finally:
                    conn.close()
            except (OSError, sqlite3.Error) as err:
                raise HistorianError(
                    f"cannot write {len(rows)} rejected samples to {self.path}: {err}"
                ) from err

    def rows(self) -> list[tuple[str, int, str]]:
        """Return (tag, ts ns, error) of every quarantined sample, oldest first."""
        if not self.path.exists():
            return []
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(
                "SELECT tag, ts, error FROM quarantine ORDER BY id"
            ).fetchall()
        finally:
            conn.close()
