"""Operator actions on alarms: acknowledge, shelve, unshelve, out of service.

Mixed into AlarmEngine, whose lock, clock and journal they use. Each action is
journaled with the engine clock's time, the alarm's value, the user and the reason.
"""

from __future__ import annotations

import logging

from alarms.states import AlarmState, Transition

log = logging.getLogger(__name__)


class OperatorActions:
    def acknowledge(
        self, alarm_id: str, user: str, comment: str = ""
    ) -> Transition | None:
        """Acknowledge an alarm. Return None when it has nothing to acknowledge.

        A hidden alarm has nothing to acknowledge. Raises KeyError for an unknown
        alarm id.
        """
        with self._lock:
            alarm = self._alarms[alarm_id]
            reason = f"acknowledged: {comment}" if comment else "acknowledged"
            transition = alarm.acknowledge(user, self._clock(), reason)
            if transition is None:
                log.info(
                    "alarm %s: acknowledge by %s ignored, state is %s",
                    alarm_id,
                    user,
                    alarm.shown_state.value,
                )
                return None

            log.info(
                "alarm %s acknowledged by %s: %s -> %s",
                alarm_id,
                user,
                transition.from_state.value,
                transition.to_state.value,
            )
            self._unsaved[alarm.id] = alarm
            self._unsaved_transitions.append(transition)
            self._commit()
            return transition

    def shelve(
        self, alarm_id: str, user: str, duration_s: float, reason: str
    ) -> Transition:
        """Shelve an alarm for ``duration_s`` seconds; ``tick`` unshelves it after.

        Shelving a shelved alarm again sets a new end time. Raises KeyError for an
        unknown alarm id and ValueError for an alarm out of service, a duration not
        in (0, max_shelve_s] or an empty reason.
        """
        max_shelve_s = self._config.alarms.max_shelve_s
        if not 0 < duration_s <= max_shelve_s:
            raise ValueError(
                f"cannot shelve {alarm_id}: duration {duration_s:g} s is not between"
                f" 0 and the maximum of {max_shelve_s:g} s (alarms.max_shelve_s)"
            )
        _require_reason("shelve", alarm_id, reason)

        with self._lock:
            alarm = self._alarms[alarm_id]
            if alarm.out_of_service:
                raise ValueError(
                    f"cannot shelve {alarm_id}: it is out of service; return it to"
                    " service first"
                )
            now = self._clock()
            until = now + duration_s

            def change(a) -> None:
                a.shelved_until = until
                a.shelved_by = user
                a.shelve_reason = reason

            text = f"shelved for {duration_s:g} s: {reason}"
            transition = alarm.change_visibility(change, now, user, text)
            if transition is None:
                # Already shelved: the new end time is still journaled.
                transition = Transition(
                    alarm.id,
                    now,
                    AlarmState.SHELVED,
                    AlarmState.SHELVED,
                    alarm.value,
                    user,
                    text,
                    alarm.priority,
                    alarm.message,
                    alarm.area,
                )
            log.info(
                "alarm %s shelved by %s for %g s: %s",
                alarm_id,
                user,
                duration_s,
                reason,
            )
            self._emit(transition, alarm, [])
            self._commit()
            return transition

    def unshelve(self, alarm_id: str, user: str) -> Transition | None:
        """Unshelve an alarm before its shelve expires.

        Return the transition to the state the operator now sees, or None when the
        alarm stays hidden (suppressed). Raises KeyError for an unknown alarm id
        and ValueError when the alarm is not shelved.
        """
        with self._lock:
            alarm = self._alarms[alarm_id]
            if alarm.shelved_until is None:
                raise ValueError(f"cannot unshelve {alarm_id}: it is not shelved")

            def change(a) -> None:
                a.shelved_until = None
                a.shelved_by = None
                a.shelve_reason = ""

            transition = alarm.change_visibility(
                change, self._clock(), user, "unshelved"
            )
            log.info("alarm %s unshelved by %s", alarm_id, user)
            self._emit(transition, alarm, [])
            self._commit()
            return transition

    def set_out_of_service(
        self, alarm_id: str, user: str, reason: str, on: bool
    ) -> Transition | None:
        """Take an alarm out of service (``on`` True) or return it to service.

        Taking it out of service ends any shelve. Return the transition of the
        state the operator sees, or None when it did not change. Raises KeyError
        for an unknown alarm id, and ValueError for an empty reason or an alarm
        already in the requested state.
        """
        action = "take out of service" if on else "return to service"
        _require_reason(action, alarm_id, reason)
        with self._lock:
            alarm = self._alarms[alarm_id]
            if alarm.out_of_service == on:
                where = "out of service" if on else "in service"
                raise ValueError(f"alarm {alarm_id} is already {where}")

            def change(a) -> None:
                a.out_of_service = on
                a.out_of_service_by = user if on else None
                a.out_of_service_reason = reason if on else ""
                if on:
                    a.shelved_until = None
                    a.shelved_by = None
                    a.shelve_reason = ""

            text = f"out of service: {reason}"
            if not on:
                text = f"returned to service: {reason}"
            transition = alarm.change_visibility(change, self._clock(), user, text)
            log.info("alarm %s by %s: %s", alarm_id, user, text)
            self._emit(transition, alarm, [])
            self._commit()
            return transition


def _require_reason(action: str, alarm_id: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"cannot {action} {alarm_id}: a reason is required")
