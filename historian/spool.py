"""Durable store-and-forward spool: samples the backend could not take yet.

One SQLite file in the data folder, ``historian-spool.sqlite``, written with
``PRAGMA synchronous=FULL``: ``append`` returns only once the rows are on disk, so a
sample the spool accepted survives a SIGKILL or a power cut. Rows leave in the order
they came (``id``), and only after the backend has stored them, so a crash between
the write and the removal sends them twice; InfluxDB keeps one point per series and
timestamp, so a second copy changes nothing.

The spool is bounded by ``max_bytes`` (pages in use) and optionally ``max_samples``.
Beyond either, the oldest rows are dropped and counted; the count survives restarts.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from historian.timestamps import from_ns, to_ns
from vigie.errors import HistorianError
from vigie.model import Quality, Sample

logger = logging.getLogger(__name__)

FILE_NAME = "historian-spool.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value,
    is_bool INTEGER NOT NULL,
    quality INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
"""


def spool_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def to_row(sample: Sample) -> tuple:
    value = sample.value
    is_bool = isinstance(value, bool)
    if is_bool:
        value = int(value)
    return (
        sample.tag,
        to_ns(sample.ts),
        value,
        int(is_bool),
        int(sample.quality),
        str(sample.reason),
    )


def from_row(tag: str, ts: int, value, is_bool: int, quality: int, reason: str):
    if is_bool:
        value = bool(value)
    return Sample(tag, from_ns(ts), value, Quality(quality), reason)


class Spool:
    """Thread-safe; every method runs in the caller's thread and blocks on disk."""

    def __init__(self, path: str | Path, max_bytes: int, max_samples: int = 0):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._count = 0
        self.dropped = 0

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise HistorianError(
                f"cannot open the historian spool {self.path}: {err}; check that the"
                " data folder is writable"
            ) from err
        self._count = conn.execute("SELECT count(*) FROM spool").fetchone()[0]
        row = conn.execute("SELECT count FROM counters WHERE name = 'dropped'")
        found = row.fetchone()
        self.dropped = found[0] if found else 0
        self._conn = conn
        if self._count:
            logger.info(
                "historian spool %s contains %d samples to replay",
                self.path,
                self._count,
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __len__(self) -> int:
        return self._count

    def append(self, samples: list[Sample]) -> int:
        """Store samples durably, then drop the oldest beyond the limits.

        Return the number of samples dropped.
        """
        with self._lock:
            conn = self._open_conn()
            with conn:
                conn.executemany(
                    "INSERT INTO spool(tag, ts, value, is_bool, quality, reason)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [to_row(sample) for sample in samples],
                )
                self._count += len(samples)
                dropped = self._drop_oldest(conn)
            return dropped

    def oldest(self, limit: int) -> tuple[int, list[Sample]]:
        """Return the id of the last row read and up to limit oldest samples."""
        with self._lock:
            rows = self._open_conn().execute(
                "SELECT id, tag, ts, value, is_bool, quality, reason FROM spool"
                " ORDER BY id LIMIT ?",
                (limit,),
            )
            rows = rows.fetchall()
        if not rows:
            return 0, []
        return rows[-1][0], [from_row(*row[1:]) for row in rows]

    def remove_through(self, last_id: int) -> None:
        """Remove every row up to and including last_id, once they are stored."""
        with self._lock:
            conn = self._open_conn()
            with conn:
                cursor = conn.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
                self._count -= cursor.rowcount

    def used_bytes(self) -> int:
        with self._lock:
            return self._used_bytes(self._open_conn())

    def _drop_oldest(self, conn: sqlite3.Connection) -> int:
        dropped = 0
        if self.max_samples and self._count > self.max_samples:
            dropped += self._delete_oldest(conn, self._count - self.max_samples)
        # Bounded: each pass deletes at least one row.
        for _attempt in range(20):
            used = self._used_bytes(conn)
            if used <= self.max_bytes or not self._count:
                break
            per_row = max(1, used // self._count)
            excess = -(-(used - self.max_bytes) // per_row)
            dropped += self._delete_oldest(conn, max(1, excess))
        if dropped:
            self.dropped += dropped
            conn.execute(
                "INSERT INTO counters(name, count) VALUES ('dropped', ?)"
                " ON CONFLICT(name) DO UPDATE SET count = excluded.count",
                (self.dropped,),
            )
        return dropped

    def _delete_oldest(self, conn: sqlite3.Connection, count: int) -> int:
        cursor = conn.execute(
            "DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY id LIMIT ?)",
            (count,),
        )
        self._count -= cursor.rowcount
        return cursor.rowcount

    def _used_bytes(self, conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size

    def _open_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistorianError(f"the historian spool {self.path} is not open")
        return self._conn
