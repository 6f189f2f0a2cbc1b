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
from alarms.states import Transition

log = logging.getLogger(__name__)

JOURNAL_NAME = "alarms.sqlite"

SCHEMA_VERSION = 3

# Version 1 files lack the columns that version 2 added; ``migrate`` adds them.
SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    alarm_id TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    value,
    user TEXT,
    reason TEXT NOT NULL,
    area TEXT,
    priority TEXT,
    shown INTEGER NOT NULL DEFAULT 1
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
    pending_since REAL,
    last_value,
    shelved_until REAL,
    shelved_by TEXT,
    shelve_reason TEXT NOT NULL DEFAULT '',
    out_of_service INTEGER NOT NULL DEFAULT 0,
    out_of_service_by TEXT,
    out_of_service_reason TEXT NOT NULL DEFAULT '',
    suppressed_by_rule INTEGER NOT NULL DEFAULT 0,
    suppressed_by_device INTEGER NOT NULL DEFAULT 0,
    active_since REAL
);
"""

# Columns added after version 1, by table, with their declarations; active_since
# came in version 3.
ADDED_COLUMNS = {
    "journal": (
        ("area", "TEXT"),
        ("priority", "TEXT"),
        ("shown", "INTEGER NOT NULL DEFAULT 1"),
    ),
    "alarm_state": (
        ("last_value", ""),
        ("shelved_until", "REAL"),
        ("shelved_by", "TEXT"),
        ("shelve_reason", "TEXT NOT NULL DEFAULT ''"),
        ("out_of_service", "INTEGER NOT NULL DEFAULT 0"),
        ("out_of_service_by", "TEXT"),
        ("out_of_service_reason", "TEXT NOT NULL DEFAULT ''"),
        ("suppressed_by_rule", "INTEGER NOT NULL DEFAULT 0"),
        ("suppressed_by_device", "INTEGER NOT NULL DEFAULT 0"),
        ("active_since", "REAL"),
    ),
}

INDEXES = "CREATE INDEX IF NOT EXISTS journal_ts ON journal (ts);"

INSERT_TRANSITION = """
INSERT INTO journal
    (ts, alarm_id, from_state, to_state, value, user, reason, area, priority, shown)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

UPSERT_STATE = """
INSERT OR REPLACE INTO alarm_state
    (alarm_id, state, value, limit_value, since, acked_by, acked_ts, pending_since,
     last_value, shelved_until, shelved_by, shelve_reason, out_of_service,
     out_of_service_by, out_of_service_reason, suppressed_by_rule,
     suppressed_by_device, active_since)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Condition changes to unack_active that the operator saw: the alarm activations.
ACTIVATION_FILTER = (
    "to_state = 'unack_active' AND from_state IN ('normal', 'unack_rtn') AND shown = 1"
)


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
        migrate(self._conn, self.path)

    def load_states(self) -> dict[str, sqlite3.Row]:
        """Return the stored state rows by alarm id."""
        rows = self._conn.execute("SELECT * FROM alarm_state").fetchall()
        return {row["alarm_id"]: row for row in rows}

    def count_raised(self) -> int:
        """Return how many alarm activations were shown, over the file's life."""
        query = f"SELECT count(*) FROM journal WHERE {ACTIVATION_FILTER}"
        return self._conn.execute(query).fetchone()[0]

    def activations_since(self, start: float) -> list[tuple[float, str, str]]:
        """Return (ts, alarm_id, area) of the shown activations from ``start`` on."""
        query = (
            f"SELECT ts, alarm_id, area FROM journal WHERE {ACTIVATION_FILTER}"
            " AND ts >= ? ORDER BY ts"
        )
        return [tuple(row) for row in self._conn.execute(query, (start,))]

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

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
                storable(t.value),
                t.user,
                t.reason,
                t.area,
                t.priority,
                int(t.shown),
            )
            for t in transitions
        ]
        state_rows = [
            (
                a.id,
                a.state.value,
                storable(a.value),
                a.limit,
                a.since,
                a.acked_by,
                a.acked_ts,
                a.pending_since,
                storable(a.last_value),
                a.shelved_until,
                a.shelved_by,
                a.shelve_reason,
                int(a.out_of_service),
                a.out_of_service_by,
                a.out_of_service_reason,
                int(a.suppressed_by_rule),
                int(a.suppressed_by_device),
                a.active_since,
            )
            for a in alarms
        ]
        with self._conn:
            self._conn.executemany(INSERT_TRANSITION, transition_rows)
            self._conn.executemany(UPSERT_STATE, state_rows)

    def close(self) -> None:
        self._conn.close()


def storable(value):
    """Return a tag value as SQLite can bind it: a whole number beyond its 64-bit
    integers, such as a uint64 counter, as a float."""
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a journal file of an older schema version to SCHEMA_VERSION.

    Version 1 rows keep NULL area and priority; reports then take both from the
    configuration. Alarms stored before version 3 have no activation time, which
    the alarm list replaces with the time of their last change.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return

    with conn:
        for table, columns in ADDED_COLUMNS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, declaration in columns:
                if name not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
        conn.executescript(INDEXES)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    log.info(
        "alarm journal %s: schema migrated from version %d to %d",
        path,
        version,
        SCHEMA_VERSION,
    )
