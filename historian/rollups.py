"""SQLite rollups: 1-minute and 1-hour min, max, sum, count and last per tag.

The writer updates both rollup tables in the transaction that inserts the raw
samples, so a rollup row always agrees with the raw rows it summarises (until
retention deletes older raw rows). Only numeric values of a sample that is not BAD
are summarised, the same rows that aggregate queries read from raw data.
"""

from __future__ import annotations

import sqlite3

from historian.timestamps import NS_PER_S

ROLLUPS = {"rollup_1m": 60 * NS_PER_S, "rollup_1h": 3600 * NS_PER_S}

SCHEMA = "".join(
    f"""
CREATE TABLE IF NOT EXISTS {table} (
    tag_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    sum REAL NOT NULL,
    count INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    last REAL NOT NULL,
    PRIMARY KEY (tag_id, bucket)
) WITHOUT ROWID;
"""
    for table in ROLLUPS
)

UPSERT = """
INSERT INTO {table}(tag_id, bucket, min, max, sum, count, last_ts, last)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(tag_id, bucket) DO UPDATE SET
    min = min(min, excluded.min),
    max = max(max, excluded.max),
    sum = sum + excluded.sum,
    count = count + excluded.count,
    last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
    last_ts = max(last_ts, excluded.last_ts)
"""

# Partial aggregate of each cell, per aggregate: raw samples, then rollup rows.
RAW_STATES = {
    "mean": "sum(value), count(value)",
    "min": "min(value)",
    "max": "max(value)",
    "count": "count(value)",
    # SQLite takes the bare column from the row where the single max() is found.
    "last": "max(ts), value",
}
ROLLUP_STATES = {
    "mean": "sum(sum), sum(count)",
    "min": "min(min)",
    "max": "max(max)",
    "count": "sum(count)",
    "last": "max(last_ts), last",
}


def update_rollups(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Add samples rows (tag_id, ts, value, text, quality) to both rollup tables."""
    numeric = [row for row in rows if row[2] is not None and row[4] < 2]
    for table, width in ROLLUPS.items():
        cells: dict[tuple[int, int], list] = {}
        for tag_id, ts, value, _text, _quality in numeric:
            key = (tag_id, ts - ts % width)
            cell = cells.get(key)
            if cell is None:
                cells[key] = [value, value, value, 1, ts, value]
                continue
            if value < cell[0]:
                cell[0] = value
            if value > cell[1]:
                cell[1] = value
            cell[2] += value
            cell[3] += 1
            if ts >= cell[4]:
                cell[4] = ts
                cell[5] = value
        conn.executemany(
            UPSERT.format(table=table),
            [(tag_id, bucket, *cell) for (tag_id, bucket), cell in cells.items()],
        )


def raw_cells(conn, tag_id: int, agg: str, lo: int, hi: int, origin: int, cell: int):
    """Return (cell_start_ns, state) of raw samples with lo <= ts < hi."""
    sql = (
        f"SELECT (ts - ?) / ? AS cell, {RAW_STATES[agg]} FROM samples"
        " WHERE tag_id = ? AND ts >= ? AND ts < ? AND value IS NOT NULL"
        " AND quality < 2 GROUP BY cell"
    )
    rows = conn.execute(sql, (origin, cell, tag_id, lo, hi)).fetchall()
    return [(origin + index * cell, _state(agg, rest)) for index, *rest in rows]


def rollup_cells(
    conn, table: str, tag_id: int, agg: str, lo: int, hi: int, origin: int, cell: int
):
    """Return (cell_start_ns, state) of rollup rows with lo <= bucket < hi."""
    sql = (
        f"SELECT (bucket - ?) / ? AS cell, {ROLLUP_STATES[agg]} FROM {table}"
        " WHERE tag_id = ? AND bucket >= ? AND bucket < ? GROUP BY cell"
    )
    rows = conn.execute(sql, (origin, cell, tag_id, lo, hi)).fetchall()
    return [(origin + index * cell, _state(agg, rest)) for index, *rest in rows]


def _state(agg: str, columns: list):
    if agg in ("mean", "last"):
        return tuple(columns)
    return columns[0]


def delete_older(conn: sqlite3.Connection, tag_ids, table: str, column: str, cutoff):
    """Delete rows of every tag older than cutoff ns; return the count deleted."""
    deleted = 0
    for tag_id in tag_ids:
        cursor = conn.execute(
            f"DELETE FROM {table} WHERE tag_id = ? AND {column} < ?", (tag_id, cutoff)
        )
        deleted += cursor.rowcount
    return deleted
