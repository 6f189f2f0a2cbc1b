"""Notification channels, on-call rosters and escalation policies."""

from __future__ import annotations

from vigie.config.base import Frozen


class NotificationsConfig(Frozen):
    """The top-level ``notifications:`` section."""
