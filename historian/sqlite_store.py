"""SQLite historian writer: one file, WAL mode, one transaction per flushed chunk.

Layout, read directly by other tools:
``tags(id INTEGER PRIMARY KEY, name TEXT UNIQUE, kind TEXT)``,
``samples(tag_id, ts INTEGER nanoseconds UTC, value REAL, text TEXT, quality INTEGER)``,
the view ``samples_by_name(tag, ts, value, text, quality)``, and the rollup tables
``rollup_1m`` and ``rollup_1h`` (see ``historian.rollups``). Retention deletes raw
samples and each rollup table past its own age limit, every ``interval_s``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

from historian.buffered import BufferedWriter
from historian.kinds import StorageTypeError, converted
from historian.lineproto import LineProtocolError, check_timestamp
from historian.rollups import SCHEMA as ROLLUP_SCHEMA
from historian.rollups import delete_older, update_rollups
from historian.samples import storable
from historian.sqlite_reader import SqliteReader
from historian.timestamps import NS_PER_S, to_ns
from vigie.config.historian import RetentionConfig
from vigie.errors import HistorianError
from vigie.model import Sample

logger = logging.getLogger(__name__)

FILE_NAME = "history.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    ts INTEGER NOT NULL,
    value REAL,
    text TEXT,
    quality INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_tag_ts ON samples(tag_id, ts);
CREATE VIEW IF NOT EXISTS samples_by_name(tag, ts, value, text, quality) AS
    SELECT tags.name, samples.ts, samples.value, samples.text, samples.quality
    FROM samples JOIN tags ON tags.id = samples.tag_id;
"""

__all__ = ["SqliteReader", "SqliteWriter", "history_path", "sample_row"]


def history_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def sample_row(tag_id: int, sample: Sample, kind: str | None = None) -> tuple:
    """Return the samples row: numbers (bool as 0/1) in value, strings in text.

    Raise LineProtocolError for a timestamp before 2000-01-01 and StorageTypeError
    for a value that the tag's kind cannot store.
    """
    ts_ns = to_ns(sample.ts)
    check_timestamp(ts_ns)
    value, quality, _reason = storable(sample)
    value = converted(value, kind)
    if isinstance(value, str):
        return (tag_id, ts_ns, None, value, quality)
    if value is None:
        return (tag_id, ts_ns, None, None, quality)
    return (tag_id, ts_ns, float(value), None, quality)


class SqliteWriter(BufferedWriter):
    backend = "sqlite"

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        flush_interval_s: float,
        kinds: dict[str, str] | None = None,
        retention: RetentionConfig | None = None,
        clock=time.time,
        **settings,
    ) -> None:
        super().__init__(batch_size, flush_interval_s, **settings)
        self.path = Path(path)
        self.kinds = kinds or {}
        self.retention = retention or RetentionConfig()
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._tag_ids: dict[str, int] = {}
        self._retention_due = 0.0

    def describe(self) -> str:
        return str(self.path)

    async def start(self) -> None:
        await asyncio.to_thread(self._open)
        await asyncio.to_thread(self._apply_retention_when_due)
        logger.info(
            "SQLite historian opened: %s (%d tags known)", self.path, len(self._tag_ids)
        )

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            logger.info("SQLite historian closed: %s", self.path)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Each flush runs in some worker thread, but never two at once.
            conn = sqlite3.connect(self.path, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA + ROLLUP_SCHEMA)
            columns = [row[1] for row in conn.execute("PRAGMA table_info(tags)")]
            if "kind" not in columns:
                conn.execute("ALTER TABLE tags ADD COLUMN kind TEXT")
            with conn:
                conn.executemany(
                    "INSERT INTO tags(name, kind) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET kind = excluded.kind",
                    list(self.kinds.items()),
                )
        except (OSError, sqlite3.Error) as err:
            raise HistorianError(
                f"cannot open the SQLite historian {self.path}: {err}; check that the"
                " folder is writable and the file is a Vigie history database"
            ) from err
        self._tag_ids = dict(conn.execute("SELECT name, id FROM tags").fetchall())
        self._conn = conn

    async def _write(self, chunk: list[Sample]) -> list[tuple[Sample, str]]:
        return await asyncio.to_thread(self._insert, chunk)

    def _insert(self, chunk: list[Sample]) -> list[tuple[Sample, str]]:
        if self._conn is None:
            raise HistorianError(f"the SQLite historian {self.path} is not open")
        conn = self._conn
        new_ids: dict[str, int] = {}
        rejected = []
        with conn:
            for name in {sample.tag for sample in chunk} - self._tag_ids.keys():
                conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
                row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,))
                new_ids[name] = row.fetchone()[0]
            ids = self._tag_ids | new_ids
            rows = []
            for sample in chunk:
                try:
                    kind = self.kinds.get(sample.tag)
                    rows.append(sample_row(ids[sample.tag], sample, kind))
                except (LineProtocolError, StorageTypeError) as err:
                    rejected.append((sample, str(err)))
            conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", rows)
            update_rollups(conn, rows)
        # Only a committed tag id may enter the cache.
        self._tag_ids.update(new_ids)
        self._apply_retention_when_due()
        return rejected

    def _apply_retention_when_due(self) -> None:
        now = self.clock()
        if now < self._retention_due:
            return
        self._retention_due = now + self.retention.interval_s
        apply_retention(self._conn, self._tag_ids.values(), self.retention, now)


def apply_retention(conn, tag_ids, retention: RetentionConfig, now: float) -> dict:
    """Delete raw samples and rollups older than their limits; return the counts."""
    limits = {
        ("samples", "ts"): retention.raw_days,
        ("rollup_1m", "bucket"): retention.rollup_1m_days,
        ("rollup_1h", "bucket"): retention.rollup_1h_days,
    }
    deleted = {}
    with conn:
        for (table, column), days in limits.items():
            if days <= 0:
                continue
            cutoff = to_ns(now) - round(days * 86400 * NS_PER_S)
            deleted[table] = delete_older(conn, tag_ids, table, column, cutoff)
    if any(deleted.values()):
        logger.info("historian retention deleted %s", deleted)
    return deleted
