"""SQLite alarm journal: every transition, and the current state of every alarm.

Both tables are written in one transaction per processed batch, so the stored
state always matches the last stored transition.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from alarms.alarm import Alarm
from alarms.states import AlarmState, Transition

log = logging.getLogger(__name__)

JOURNAL_NAME = "alarms.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    alarm_id TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    value,
    user TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_alarm_ts ON journal (alarm_id, ts);
CREATE TABLE IF NOT EXISTS alarm_state (
    alarm_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    value,
    limit_value REAL,
    since REAL,
    acked_by TEXT,
    acked_ts REAL,
    pending_since REAL
);
"""

INSERT_TRANSITION = """
INSERT INTO journal (ts, alarm_id, from_state, to_state, value, user, reason)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""

UPSERT_STATE = """
INSERT OR REPLACE INTO alarm_state
    (alarm_id, state, value, limit_value, since, acked_by, acked_ts, pending_since)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""


class Journal:
    """The alarm journal file. Callers serialise access, as the engine's lock does."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

        # The dashboard thread acknowledges through the same engine, so the
        # connection is shared between threads and the engine's lock serialises it.
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            log.warning(
                "alarm journal %s: journal mode is %s, not wal", self.path, mode
            )
        with self._conn:
            self._conn.executescript(SCHEMA)

    def load_states(self) -> dict[str, sqlite3.Row]:
        """Return the stored state rows by alarm id."""
        rows = self._conn.execute("SELECT * FROM alarm_state").fetchall()
        return {row["alarm_id"]: row for row in rows}

    def count_raised(self) -> int:
        """Return how many times any alarm became unack_active, over the file's life."""
        query = "SELECT count(*) FROM journal WHERE to_state = ?"
        return self._conn.execute(query, (AlarmState.UNACK_ACTIVE.value,)).fetchone()[0]

    def save(self, transitions: Iterable[Transition], alarms: Iterable[Alarm]) -> None:
        """Append the transitions and store the alarms' states in one transaction.

        Raises sqlite3.Error after a rollback when the write fails.
        """
        transition_rows = [
            (
                t.ts,
                t.alarm_id,
                t.from_state.value,
                t.to_state.value,
                t.value,
                t.user,
                t.reason,
            )
            for t in transitions
        ]
        state_rows = [
            (
                a.id,
                a.state.value,
                a.value,
                a.limit,
                a.since,
                a.acked_by,
                a.acked_ts,
                a.pending_since,
            )
            for a in alarms
        ]
        with self._conn:
            self._conn.executemany(INSERT_TRANSITION, transition_rows)
            self._conn.executemany(UPSERT_STATE, state_rows)

    def close(self) -> None:
        self._conn.close()
