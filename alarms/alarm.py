"""One alarm's live state: the ISA-18.2 state, the delay timer and the acknowledge."""

from __future__ import annotations

from dataclasses import dataclass

from alarms.rules import LimitRule, Rule
from alarms.states import (
    AlarmState,
    Transition,
    next_on_acknowledge,
    next_on_condition,
)
from vigie.model import Value


@dataclass(slots=True, eq=False)
class Alarm:
    """A configured alarm and its current state.

    ``tag`` and ``rule`` are None for a communication-loss alarm. ``value`` is the
    tag value at the last state change. ``since`` is the time of the last change of
    the condition, which an acknowledge does not move. While an on or off delay
    runs, ``pending_since`` is the sample time at which the opposite condition
    started to hold. ``dirty`` marks a record that the journal has not stored yet.
    """

    id: str
    tag: str | None
    type: str
    priority: str
    message: str
    rule: Rule | None = None
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    state: AlarmState = AlarmState.NORMAL
    pending_since: float | None = None
    value: Value = None
    since: float | None = None
    acked_by: str | None = None
    acked_ts: float | None = None
    dirty: bool = False

    @property
    def limit(self) -> float | None:
        if isinstance(self.rule, LimitRule):
            return self.rule.limit
        return None

    def debounce(self, condition: bool, ts: float) -> bool:
        """Advance the on/off delay timer and return True when the change is due.

        The opposite condition must hold on every sample from ``pending_since`` to
        ``ts`` for the delay, in seconds of sample time. One sample back on the
        current side restarts the timer. A delay of 0 changes the condition at once.
        """
        if condition == self.state.condition_active:
            if self.pending_since is not None:
                self.pending_since = None
                self.dirty = True
            return False

        if self.pending_since is None:
            self.pending_since = ts
            self.dirty = True

        delay = self.on_delay_s if condition else self.off_delay_s
        if ts - self.pending_since < delay:
            return False

        self.pending_since = None
        self.dirty = True
        return True

    def set_condition(
        self, condition: bool, ts: float, value: Value, reason: str
    ) -> Transition | None:
        """Apply a change of the condition; return the transition, if any."""
        to_state = next_on_condition(self.state, condition)
        if to_state is None:
            return None

        if to_state is AlarmState.UNACK_ACTIVE:
            self.acked_by = None
            self.acked_ts = None
        self.value = value
        self.since = ts
        return self._move(to_state, ts, None, reason)

    def acknowledge(self, user: str, ts: float, reason: str) -> Transition | None:
        """Acknowledge the alarm; return None when there is nothing to acknowledge."""
        to_state = next_on_acknowledge(self.state)
        if to_state is None:
            return None

        self.acked_by = user
        self.acked_ts = ts
        return self._move(to_state, ts, user, reason)

    def as_dict(self) -> dict:
        """Return the alarm as one entry of the ``alarms`` list of /api/status."""
        return {
            "id": self.id,
            "tag": self.tag,
            "type": self.type,
            "priority": self.priority,
            "state": self.state.value,
            "value": self.value,
            "limit": self.limit,
            "message": self.message,
            "since": self.since,
            "acked_by": self.acked_by,
            "acked_ts": self.acked_ts,
        }

    def _move(
        self, to_state: AlarmState, ts: float, user: str | None, reason: str
    ) -> Transition:
        transition = Transition(
            alarm_id=self.id,
            ts=ts,
            from_state=self.state,
            to_state=to_state,
            value=self.value,
            user=user,
            reason=reason,
            priority=self.priority,
            message=self.message,
        )
        self.state = to_state
        self.dirty = True
        return transition
