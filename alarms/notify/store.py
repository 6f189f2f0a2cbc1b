"""The notification store: messages, deliveries, the attempt log and timers in SQLite.

Everything the service must not forget across a restart lives here: which messages
were already created (the unique ``key`` of a message), which deliveries are still
pending, the escalation of every unacknowledged alarm, and the flood state per area.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from alarms.notify.records import (
    EPISODE_COLUMNS,
    FAILED,
    HELD,
    LOG_COLUMNS,
    MESSAGE_COLUMNS,
    PENDING,
    PREFIXED_COLUMNS,
    QUEUED,
    SCHEMA,
    SENT,
    SUMMARISED,
    Delivery,
    Episode,
    Message,
)

STORE_NAME = "notifications.sqlite"

__all__ = [
    "FAILED",
    "HELD",
    "PENDING",
    "QUEUED",
    "SENT",
    "STORE_NAME",
    "Delivery",
    "Episode",
    "Message",
    "NotificationStore",
]


class NotificationStore:
    """SQLite access for the service; ``query_log`` may be called from any thread."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Messages and deliveries.

    def add_message(
        self,
        key: str,
        now: float,
        fields: dict,
        status: str,
        contacts: dict[str, str],
    ) -> int | None:
        """Store a message and one pending delivery per contact.

        Returns the message id, or None when a message with ``key`` exists
        already, which is how a restarted service avoids sending twice.
        """
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO messages (key, created_ts, alarm_id,"
                " transition, kind, recipient, priority, title, body, short, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    now,
                    fields["alarm_id"],
                    fields["transition"],
                    fields["kind"],
                    fields["recipient"],
                    fields["priority"],
                    fields["title"],
                    fields["body"],
                    fields["short"],
                    status,
                ),
            )
            if cursor.rowcount == 0:
                return None
            message_id = cursor.lastrowid
            if status == QUEUED:
                self._add_deliveries(message_id, now, contacts)
            return message_id

    def release(self, message_id: int, now: float, contacts: dict[str, str]) -> None:
        """Queue a held message for delivery as it is."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE messages SET status = ?, created_ts = ? WHERE id = ?",
                (QUEUED, now, message_id),
            )
            self._add_deliveries(message_id, now, contacts)

    def _add_deliveries(
        self, message_id: int, now: float, contacts: dict[str, str]
    ) -> None:
        self._db.executemany(
            "INSERT INTO deliveries (message_id, channel, address, due_ts, status)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (message_id, channel, address, now, PENDING)
                for channel, address in contacts.items()
            ],
        )

    def count_queued(self, recipient: str, since_ts: float) -> int:
        """Count messages released to ``recipient`` after ``since_ts``."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM messages WHERE recipient = ? AND status = ?"
                " AND created_ts > ?",
                (recipient, QUEUED, since_ts),
            ).fetchone()
        return row[0]

    def held(self) -> dict[str, list[Message]]:
        """Return the messages held by the rate limit, by recipient, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = ? ORDER BY id",
                (HELD,),
            ).fetchall()
        held: dict[str, list[Message]] = {}
        for row in rows:
            message = Message(*row)
            held.setdefault(message.recipient, []).append(message)
        return held

    def mark_summarised(self, message_ids: list[int]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE messages SET status = ? WHERE id = ?",
                [(SUMMARISED, message_id) for message_id in message_ids],
            )

    def due_deliveries(self, now: float, exclude: set[int]) -> list[Delivery]:
        """Return pending deliveries whose time has come, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT d.id, d.channel, d.address, d.attempts, {PREFIXED_COLUMNS}"
                " FROM deliveries d JOIN messages m ON m.id = d.message_id"
                " WHERE d.status = ? AND d.due_ts <= ? ORDER BY d.due_ts, d.id",
                (PENDING, now),
            ).fetchall()
        return [
            Delivery(row[0], Message(*row[4:]), row[1], row[2], row[3])
            for row in rows
            if row[0] not in exclude
        ]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(due_ts) FROM deliveries WHERE status = ?", (PENDING,)
            ).fetchone()
        return row[0]

    def finish_attempt(
        self,
        delivery: Delivery,
        now: float,
        result: str,
        error: str,
        status: str,
        retry_ts: float | None = None,
    ) -> None:
        """Log one attempt and move the delivery to ``status``."""
        message = delivery.message
        with self._lock, self._db:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, status = ?,"
                " due_ts = COALESCE(?, due_ts) WHERE id = ?",
                (status, retry_ts, delivery.id),
            )
            self._log(now, message, delivery.channel, result, error)

    def log_event(self, now: float, message: Message, result: str, error: str = ""):
        """Log a decision about a message that is not a delivery attempt."""
        with self._lock, self._db:
            self._log(now, message, "", result, error)

    def _log(self, now, message: Message, channel: str, result: str, error: str):
        self._db.execute(
            "INSERT INTO attempts (ts, alarm_id, transition, kind, recipient,"
            " channel, result, error, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now,
                message.alarm_id,
                message.transition,
                message.kind,
                message.recipient,
                channel,
                result,
                error,
                message.id,
            ),
        )

    def message(self, message_id: int) -> Message:
        with self._lock:
            row = self._db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        return Message(*row)

    def recipients_of(
        self, alarm_id: str, kinds: tuple[str, ...], since_ts: float
    ) -> list[str]:
        """Return who got a message of ``kinds`` about ``alarm_id`` since ``since_ts``.

        Recipients come in the order of their first message.
        """
        marks = ", ".join("?" for _ in kinds)
        with self._lock:
            rows = self._db.execute(
                "SELECT recipient, MIN(id) FROM messages WHERE alarm_id = ?"
                f" AND kind IN ({marks}) AND created_ts >= ?"
                " GROUP BY recipient ORDER BY MIN(id)",
                (alarm_id, *kinds, since_ts),
            ).fetchall()
        return [row[0] for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            deliveries = dict(
                self._db.execute(
                    "SELECT status, COUNT(*) FROM deliveries GROUP BY status"
                ).fetchall()
            )
            held = self._db.execute(
                "SELECT COUNT(*) FROM messages WHERE status = ?", (HELD,)
            ).fetchone()[0]
            escalations = self._db.execute(
                "SELECT COUNT(*) FROM episodes WHERE next_step IS NOT NULL"
            ).fetchone()[0]
        return {
            "pending": deliveries.get(PENDING, 0),
            "sent": deliveries.get(SENT, 0),
            "failed": deliveries.get(FAILED, 0),
            "held": held,
            "escalations_pending": escalations,
        }

    # The attempt log.

    def query_log(
        self,
        start: float,
        end: float,
        alarm_id: str | None = None,
        recipient: str | None = None,
    ) -> list[dict]:
        """Return log entries with start <= ts <= end, oldest first."""
        sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM attempts WHERE ts >= ? AND ts <= ?"
        params: list = [start, end]
        if alarm_id is not None:
            sql += " AND alarm_id = ?"
            params.append(alarm_id)
        if recipient is not None:
            sql += " AND recipient = ?"
            params.append(recipient)
        sql += " ORDER BY ts, id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [dict(zip(LOG_COLUMNS, row)) for row in rows]

    # Escalation episodes.

    def save_episode(self, episode: Episode) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO episodes (alarm_id, activation_ts,"
                " started_ts, area, policy, next_step, due_ts, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    episode.alarm_id,
                    episode.activation_ts,
                    episode.started_ts,
                    episode.area,
                    episode.policy,
                    episode.next_step,
                    episode.due_ts,
                    episode.record,
                ),
            )

    def episode(self, alarm_id: str) -> Episode | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE alarm_id = ?",
                (alarm_id,),
            ).fetchone()
        return None if row is None else Episode(*row)

    def delete_episode(self, alarm_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM episodes WHERE alarm_id = ?", (alarm_id,))

    def due_escalations(self, now: float) -> list[Episode]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {EPISODE_COLUMNS} FROM episodes"
                " WHERE next_step IS NOT NULL AND due_ts <= ? ORDER BY due_ts",
                (now,),
            ).fetchall()
        return [Episode(*row) for row in rows]

    # Floods.

    def set_flood(self, area: str, active: bool, now: float) -> None:
        with self._lock, self._db:
            if active:
                self._db.execute(
                    "INSERT OR REPLACE INTO floods (area, active, since_ts,"
                    " last_summary_ts) VALUES (?, 1, ?, ?)",
                    (area, now, now),
                )
            else:
                self._db.execute("UPDATE floods SET active = 0 WHERE area = ?", (area,))

    def floods(self) -> dict[str, tuple[bool, float]]:
        """Return area -> (active, last summary time) for every known area."""
        with self._lock:
            rows = self._db.execute(
                "SELECT area, active, last_summary_ts FROM floods"
            ).fetchall()
        return {area: (bool(active), last) for area, active, last in rows}

    def buffer_flood_alarm(
        self, area: str, alarm_id: str, ts: float, priority: str
    ) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO flood_buffer (area, alarm_id, ts, priority)"
                " VALUES (?, ?, ?, ?)",
                (area, alarm_id, ts, priority),
            )

    def take_flood_buffer(self, area: str, now: float) -> list[tuple[str, str, float]]:
        """Remove and return the area's buffered (alarm id, priority, ts), oldest
        first."""
        with self._lock, self._db:
            rows = self._db.execute(
                "SELECT alarm_id, priority, ts FROM flood_buffer WHERE area = ?"
                " ORDER BY id",
                (area,),
            ).fetchall()
            self._db.execute("DELETE FROM flood_buffer WHERE area = ?", (area,))
            self._db.execute(
                "UPDATE floods SET last_summary_ts = ? WHERE area = ?", (now, area)
            )
        return rows
