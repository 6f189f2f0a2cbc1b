"""Time-driven evaluations of the alarm engine, run by ``AlarmEngine.tick``.

Mixed into AlarmEngine: each method runs under the engine's lock, except the
historian queries of the scheduled rules.
"""

from __future__ import annotations

import logging

from alarms.alarm import Alarm
from alarms.history import AggregateSource, ReaderAggregates
from alarms.rules import StaleRule
from alarms.states import Transition

log = logging.getLogger(__name__)


class TimedEvaluations:
    def _expire_shelves(self, now: float, out: list[Transition]) -> None:
        for alarm in self._alarms.values():
            until = alarm.shelved_until
            if until is None or until > now:
                continue
            log.info("alarm %s: shelve by %s expired", alarm.id, alarm.shelved_by)
            self._set_hidden(alarm, _clear_shelve, until, None, "shelve expired", out)

    def _check_stale(self, now: float, out: list[Transition]) -> None:
        for track in self._catalog.tracks.values():
            alarm = track.stale_alarm
            if alarm is None or alarm.state.condition_active:
                continue
            deadline = track.last_fresh_ts + alarm.rule.after_s
            if now < deadline:
                continue
            reason = alarm.rule.describe(None, True)
            change = alarm.set_condition(True, deadline, alarm.last_value, reason)
            self._emit(change, alarm, out)

    def _complete_delays(self, now: float, out: list[Transition]) -> None:
        tracks = self._catalog.tracks
        for alarm in self._alarms.values():
            if alarm.pending_since is None or isinstance(alarm.rule, StaleRule):
                continue
            condition = not alarm.state.condition_active
            due = alarm.pending_since + alarm.delay_for(condition)
            if now < due:
                continue
            # No data is no evidence: a value rule on a stale tag keeps waiting.
            track = tracks.get(alarm.tag) if alarm.tag else None
            if track is not None and track.stale and not alarm.rule.reads_bad:
                continue
            alarm.pending_since = None
            reason = alarm.rule.describe(alarm.last_value, condition)
            change = alarm.set_condition(condition, due, alarm.last_value, reason)
            self._emit(change, alarm, out)

    def _check_floods(self, now: float, out: list[Transition]) -> None:
        for area, alarm in self._catalog.flood_alarms.items():
            if not alarm.state.condition_active or not self._flood.calm(area, now):
                continue
            reason = (
                f"{self._flood.clear_at} or fewer new alarms in"
                f" {self._flood.window_s:g} s"
            )
            self._emit(alarm.set_condition(False, now, None, reason), alarm, out)

    def _run_scheduled(self, due, now: float) -> list[Transition]:
        history = self._history_source()
        verdicts = []
        for alarm, rule in due:
            try:
                verdicts.append((alarm, rule.evaluate(history, now)))
            except Exception as err:  # noqa: BLE001 - one rule must not stop others
                log.error("alarm %s: scheduled evaluation failed: %s", alarm.id, err)

        with self._lock:
            out: list[Transition] = []
            for alarm, verdict in verdicts:
                log.debug("alarm %s: %s", alarm.id, verdict.reason)
                if verdict.condition is None:
                    continue
                alarm.last_value = verdict.value
                change = alarm.set_condition(
                    verdict.condition, now, verdict.value, verdict.reason
                )
                self._emit(change, alarm, out)
            self._commit()
            return out

    def _history_source(self) -> AggregateSource:
        if self._history is None:
            from historian import make_reader

            self._history = ReaderAggregates(make_reader(self._config))
        return self._history


def _clear_shelve(alarm: Alarm) -> None:
    alarm.shelved_until = None
    alarm.shelved_by = None
    alarm.shelve_reason = ""
