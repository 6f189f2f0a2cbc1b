"""Restoring alarm states from the journal's ``alarm_state`` rows after a restart."""

from __future__ import annotations

import logging

from alarms.alarm import Alarm
from alarms.rules import DiscreteRule
from alarms.states import AlarmState

log = logging.getLogger(__name__)

CONDITION_STATES = (
    AlarmState.NORMAL,
    AlarmState.UNACK_ACTIVE,
    AlarmState.ACK_ACTIVE,
    AlarmState.UNACK_RTN,
)


def restore_alarms(rows: dict, alarms: dict[str, Alarm]) -> int:
    """Load every stored alarm state and return how many alarms were restored."""
    restored = 0
    for alarm_id, row in rows.items():
        alarm = alarms.get(alarm_id)
        if alarm is None:
            log.info("alarm %s: stored state ignored, alarm not configured", alarm_id)
            continue
        try:
            state = AlarmState(row["state"])
        except ValueError:
            state = None
        if state not in CONDITION_STATES:
            log.warning("alarm %s: unknown stored state %r", alarm_id, row["state"])
            continue

        alarm.state = state
        alarm.value = _typed(alarm, row["value"])
        alarm.last_value = _typed(alarm, row["last_value"])
        alarm.since = row["since"]
        alarm.active_since = row["active_since"]
        alarm.acked_by = row["acked_by"]
        alarm.acked_ts = row["acked_ts"]
        alarm.pending_since = row["pending_since"]
        alarm.shelved_until = row["shelved_until"]
        alarm.shelved_by = row["shelved_by"]
        alarm.shelve_reason = row["shelve_reason"] or ""
        alarm.out_of_service = bool(row["out_of_service"])
        alarm.out_of_service_by = row["out_of_service_by"]
        alarm.out_of_service_reason = row["out_of_service_reason"] or ""
        alarm.suppressed_by_rule = bool(row["suppressed_by_rule"])
        alarm.suppressed_by_device = bool(row["suppressed_by_device"])
        restored += 1
    return restored


def _typed(alarm: Alarm, value):
    # SQLite stores a bool as 0 or 1; a discrete alarm on a bool shows True/False.
    if isinstance(alarm.rule, DiscreteRule) and value is not None:
        if isinstance(alarm.rule.value, bool):
            return bool(value)
    return value
