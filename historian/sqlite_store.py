"""SQLite historian: one file, WAL mode, one transaction per flushed chunk.

Layout, read directly by other tools:
``tags(id INTEGER PRIMARY KEY, name TEXT UNIQUE)``,
``samples(tag_id, ts INTEGER nanoseconds UTC, value REAL, text TEXT, quality INTEGER)``
and the view ``samples_by_name(tag, ts, value, text, quality)``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

from historian.buffered import BufferedWriter
from historian.samples import storable
from historian.timestamps import from_ns, to_ns
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

QUERY_RAW = (
    "SELECT samples.ts, samples.value, samples.text, samples.quality"
    " FROM samples JOIN tags ON tags.id = samples.tag_id"
    " WHERE tags.name = ? AND samples.ts BETWEEN ? AND ?"
    " ORDER BY samples.ts, samples.rowid"
)


def history_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def sample_row(tag_id: int, sample: Sample) -> tuple:
    """Return the samples row: numbers (bool as 0/1) in value, strings in text."""
    value, quality, _reason = storable(sample)
    if isinstance(value, str):
        return (tag_id, to_ns(sample.ts), None, value, quality)
    if value is None:
        return (tag_id, to_ns(sample.ts), None, None, quality)
    return (tag_id, to_ns(sample.ts), float(value), None, quality)


class SqliteWriter(BufferedWriter):
    backend = "sqlite"

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        flush_interval_s: float,
        **retry_settings: float,
    ) -> None:
        super().__init__(batch_size, flush_interval_s, **retry_settings)
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._tag_ids: dict[str, int] = {}

    def describe(self) -> str:
        return str(self.path)

    async def start(self) -> None:
        await asyncio.to_thread(self._open)
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
            conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise HistorianError(
                f"cannot open the SQLite historian {self.path}: {err}; check that the"
                " folder is writable and the file is a Vigie history database"
            ) from err
        self._tag_ids = dict(conn.execute("SELECT name, id FROM tags").fetchall())
        self._conn = conn

    async def _write(self, chunk: list[Sample]) -> list[Sample]:
        await asyncio.to_thread(self._insert, chunk)
        return []

    def _insert(self, chunk: list[Sample]) -> None:
        if self._conn is None:
            raise HistorianError(f"the SQLite historian {self.path} is not open")
        conn = self._conn
        new_ids: dict[str, int] = {}
        with conn:
            for name in {sample.tag for sample in chunk} - self._tag_ids.keys():
                conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
                row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,))
                new_ids[name] = row.fetchone()[0]
            ids = self._tag_ids | new_ids
            rows = [sample_row(ids[sample.tag], sample) for sample in chunk]
            conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", rows)
        # Only a committed tag id may enter the cache.
        self._tag_ids.update(new_ids)


class SqliteReader:
    """Raw history from the SQLite file. Thread-safe: one connection behind a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def query_raw(self, tag: str, start: float, end: float) -> list[tuple]:
        """Return (ts seconds, value, quality) of one tag with start <= ts <= end.

        The value is a float for numbers and bools, a str for strings, or None.
        """
        with self._lock:
            conn = self._connect()
            if conn is None:
                return []
            try:
                rows = conn.execute(QUERY_RAW, (tag, to_ns(start), to_ns(end)))
                rows = rows.fetchall()
            except sqlite3.Error as err:
                raise HistorianError(
                    f"query of tag {tag!r} in {self.path} failed: {err}"
                ) from err
        return [
            (from_ns(ts), text if text is not None else value, quality)
            for ts, value, text, quality in rows
        ]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        # Before the writer has created the file there is no history yet.
        if not self.path.exists():
            return None
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        self._conn = conn
        return conn
