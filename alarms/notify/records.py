"""Tables of the notification store and the records read from them."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    created_ts REAL NOT NULL,
    alarm_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    priority TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    short TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_recipient
    ON messages (recipient, status, created_ts);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    due_ts REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (status, due_ts);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    alarm_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    result TEXT NOT NULL,
    error TEXT NOT NULL,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS attempts_by_ts ON attempts (ts);
CREATE TABLE IF NOT EXISTS episodes (
    alarm_id TEXT PRIMARY KEY,
    activation_ts REAL NOT NULL,
    started_ts REAL NOT NULL,
    area TEXT NOT NULL,
    policy TEXT NOT NULL,
    next_step INTEGER,
    due_ts REAL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS floods (
    area TEXT PRIMARY KEY,
    active INTEGER NOT NULL,
    since_ts REAL NOT NULL,
    last_summary_ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS flood_buffer (
    id INTEGER PRIMARY KEY,
    area TEXT NOT NULL,
    alarm_id TEXT NOT NULL,
    ts REAL NOT NULL,
    priority TEXT NOT NULL
);
"""

# Message states: sent to its channels, held back by the rate limit, or folded
# into a summary message.
QUEUED = "queued"
HELD = "held"
SUMMARISED = "summarised"

# Delivery states.
PENDING = "pending"
SENT = "sent"
FAILED = "failed"

LOG_COLUMNS = (
    "ts",
    "alarm_id",
    "transition",
    "kind",
    "recipient",
    "channel",
    "result",
    "error",
)


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    created_ts: float
    alarm_id: str
    transition: str
    kind: str
    recipient: str
    priority: str
    title: str
    body: str
    short: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    message: Message
    channel: str
    address: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Episode:
    """An alarm active and not yet acknowledged, with its next escalation step."""

    alarm_id: str
    activation_ts: float
    started_ts: float
    area: str
    policy: str
    next_step: int | None
    due_ts: float | None
    # The activation transition as JSON, to word later escalation messages.
    record: str


MESSAGE_COLUMNS = (
    "id, created_ts, alarm_id, transition, kind, recipient, priority, title, body,"
    " short"
)
PREFIXED_COLUMNS = ", ".join(
    f"m.{column.strip()}" for column in MESSAGE_COLUMNS.split(",")
)
EPISODE_COLUMNS = (
    "alarm_id, activation_ts, started_ts, area, policy, next_step, due_ts, record"
)
