"""Raw and aggregated history from the SQLite file. Thread-safe."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from historian.buckets import BucketPlan, check_aggregate, combine, plan_buckets
from historian.kinds import read_back
from historian.rollups import ROLLUPS, raw_cells, rollup_cells
from historian.timestamps import from_ns, to_ns
from vigie.errors import HistorianError

QUERY_RAW = (
    "SELECT samples.ts, samples.value, samples.text, samples.quality"
    " FROM samples JOIN tags ON tags.id = samples.tag_id"
    " WHERE tags.name = ? AND samples.ts BETWEEN ? AND ?"
    " ORDER BY samples.ts, samples.rowid"
)


class SqliteReader:
    """One connection behind a lock, opened once the writer has created the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def query_raw(self, tag: str, start: float, end: float) -> list[tuple]:
        """Return (ts seconds, value, quality) of one tag with start <= ts <= end.

        The value has its tag's declared kind (bool, int, float or str), or is None.
        A tag without a declared kind reads numbers and bools back as floats.
        """
        with self._lock:
            conn = self._connect()
            if conn is None:
                return []
            try:
                kind = self._kind_of(conn, tag)
                rows = conn.execute(QUERY_RAW, (tag, to_ns(start), to_ns(end)))
                rows = rows.fetchall()
            except sqlite3.Error as err:
                raise HistorianError(
                    f"query of tag {tag!r} in {self.path} failed: {err}"
                ) from err
        return [
            (from_ns(ts), text if text is not None else read_back(value, kind), quality)
            for ts, value, text, quality in rows
        ]

    def query_aggregate(
        self,
        tag: str,
        start: float,
        end: float,
        every_s: float,
        agg: str,
        tz: str | None = None,
    ) -> list[tuple[float, float]]:
        """Return (bucket_start_ts, value) of one tag over start <= ts < end.

        ``agg`` is mean, min, max, last or count, over the numeric values of samples
        that are not BAD; buckets without such values are left out. With ``tz``, an
        interval of whole days buckets by local calendar days. Rollups serve every
        part of the range that is aligned to whole minutes or hours.
        """
        check_aggregate(agg)
        plan = plan_buckets(to_ns(start), to_ns(end), every_s, tz)
        with self._lock:
            conn = self._connect()
            if conn is None:
                return []
            try:
                row = conn.execute("SELECT id FROM tags WHERE name = ?", (tag,))
                found = row.fetchone()
                if found is None:
                    return []
                cells = _cells(conn, found[0], agg, plan)
            except sqlite3.Error as err:
                raise HistorianError(
                    f"aggregate query of tag {tag!r} in {self.path} failed: {err}"
                ) from err
        return combine(plan, agg, cells)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _kind_of(self, conn: sqlite3.Connection, tag: str) -> str | None:
        try:
            row = conn.execute("SELECT kind FROM tags WHERE name = ?", (tag,))
        except sqlite3.OperationalError:
            # A file written before tags had a kind column.
            return None
        found = row.fetchone()
        return found[0] if found else None

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


def _cells(conn: sqlite3.Connection, tag_id: int, agg: str, plan: BucketPlan):
    """Return the partial aggregates of the plan's range from rollups and raw rows.

    The widest rollup whose rows never straddle a bucket edge serves the aligned
    middle of the range; raw samples serve the unaligned ends.
    """
    lo, hi = plan.start_ns, plan.end_ns
    origin, cell = plan.origin_ns, plan.cell_ns()
    for table, width in sorted(ROLLUPS.items(), key=lambda item: -item[1]):
        if not plan.aligned_to(width) or cell % width:
            continue
        first = -(-lo // width) * width
        last = hi // width * width
        if first >= last:
            continue
        return (
            raw_cells(conn, tag_id, agg, lo, first, origin, cell)
            + rollup_cells(conn, table, tag_id, agg, first, last, origin, cell)
            + raw_cells(conn, tag_id, agg, last, hi, origin, cell)
        )
    return raw_cells(conn, tag_id, agg, lo, hi, origin, cell)
