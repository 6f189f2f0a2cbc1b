"""One alarm's live state: the ISA-18.2 state, the delay timer, the acknowledge, and
whether it is shelved, suppressed by design or out of service."""

from __future__ import annotations

from dataclasses import dataclass

from alarms.expressions import Expression
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

    ``tag`` and ``rule`` are None for a communication-loss, flood or system alarm.
    ``state`` is always one of the four ISA-18.2 condition states, because a hidden
    alarm keeps tracking its condition there. ``shown_state`` is the state shown to
    the operator. ``value`` is the tag value at the last state change and ``last_value``
    the latest one evaluated. ``since`` is the time of the last change of the
    condition, which an acknowledge does not move, and ``active_since`` the time the
    condition last became active, kept after it returns to normal. While an on or
    off delay runs,
    ``pending_since`` is the sample time at which the opposite condition started to
    hold. ``dirty`` marks a record that the journal has not stored yet.
    """

    id: str
    tag: str | None
    type: str
    priority: str
    message: str
    area: str = ""
    device: str = ""
    rule: Rule | None = None
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    suppression: Expression | None = None
    state: AlarmState = AlarmState.NORMAL
    pending_since: float | None = None
    value: Value = None
    last_value: Value = None
    since: float | None = None
    active_since: float | None = None
    acked_by: str | None = None
    acked_ts: float | None = None
    shelved_until: float | None = None
    shelved_by: str | None = None
    shelve_reason: str = ""
    out_of_service: bool = False
    out_of_service_by: str | None = None
    out_of_service_reason: str = ""
    # Suppressed by the rule's expression, or by its device's communication loss.
    suppressed_by_rule: bool = False
    suppressed_by_device: bool = False
    dirty: bool = False

    @property
    def limit(self) -> float | None:
        if isinstance(self.rule, LimitRule):
            return self.rule.limit
        return None

    @property
    def suppressed(self) -> bool:
        return self.suppressed_by_rule or self.suppressed_by_device

    @property
    def shown_state(self) -> AlarmState:
        """Return the state the operator sees: out of service, shelved, suppressed
        by design (in this order of precedence), else the condition state."""
        if self.out_of_service:
            return AlarmState.OUT_OF_SERVICE
        if self.shelved_until is not None:
            return AlarmState.SHELVED
        if self.suppressed:
            return AlarmState.SUPPRESSED
        return self.state

    @property
    def hidden(self) -> bool:
        return self.out_of_service or self.shelved_until is not None or self.suppressed

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

        if ts - self.pending_since < self.delay_for(condition):
            return False

        self.pending_since = None
        self.dirty = True
        return True

    def delay_for(self, condition: bool) -> float:
        return self.on_delay_s if condition else self.off_delay_s

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
        if to_state.condition_active:
            self.active_since = ts
        return self._move(to_state, ts, None, reason)

    def acknowledge(self, user: str, ts: float, reason: str) -> Transition | None:
        """Acknowledge the alarm; return None when there is nothing to acknowledge."""
        to_state = next_on_acknowledge(self.state)
        if to_state is None or self.hidden:
            return None

        self.acked_by = user
        self.acked_ts = ts
        return self._move(to_state, ts, user, reason)

    def change_visibility(
        self, change, ts: float, user: str | None, reason: str
    ) -> Transition | None:
        """Apply ``change(self)`` to the hidden flags; return the transition of the
        shown state, or None when the operator sees no difference."""
        before = self.shown_state
        change(self)
        self.dirty = True
        after = self.shown_state
        if after is before:
            return None
        return Transition(
            alarm_id=self.id,
            ts=ts,
            from_state=before,
            to_state=after,
            value=self.value,
            user=user,
            reason=reason,
            priority=self.priority,
            message=self.message,
            area=self.area,
        )

    def as_dict(self, stale: bool = False) -> dict:
        """Return the alarm as one entry of the ``alarms`` list of /api/status.

        ``state`` is the condition state; ``status`` is what the operator sees,
        which differs while the alarm is shelved, suppressed or out of service.
        """
        return {
            "id": self.id,
            "tag": self.tag,
            "type": self.type,
            "priority": self.priority,
            "area": self.area,
            "state": self.state.value,
            "status": self.shown_state.value,
            "value": self.value,
            "limit": self.limit,
            "message": self.message,
            "since": self.since,
            "active_since": self.active_since,
            "acked_by": self.acked_by,
            "acked_ts": self.acked_ts,
            "stale": stale,
            "shelved_until": self.shelved_until,
            "shelved_by": self.shelved_by,
            "shelve_reason": self.shelve_reason,
            "out_of_service": self.out_of_service,
            "out_of_service_by": self.out_of_service_by,
            "out_of_service_reason": self.out_of_service_reason,
            "suppressed": self.suppressed,
        }

    def _move(
        self, to_state: AlarmState, ts: float, user: str | None, reason: str
    ) -> Transition:
        hidden = self.hidden
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
            area=self.area,
            shown=not hidden,
        )
        self.state = to_state
        self.dirty = True
        return transition
