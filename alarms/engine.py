"""The alarm engine: samples, device states and clock ticks in, ISA-18.2
transitions out."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from alarms.alarm import Alarm
from alarms.catalog import COMM_LOSS, SYSTEM_ALARMS, build_catalog
from alarms.flood import FLOOD, FloodDetector
from alarms.history import AggregateSource
from alarms.journal import JOURNAL_NAME, Journal
from alarms.operator import OperatorActions
from alarms.report import build_report
from alarms.restore import restore_alarms
from alarms.states import PRIORITY_RANK, AlarmState, Transition
from alarms.timers import TimedEvaluations
from vigie.config import Config
from vigie.model import Batch, ConnectionState, DeviceStatus, Quality, Sample

log = logging.getLogger(__name__)

# Transitions kept in memory while the journal cannot be written.
MAX_UNSAVED_TRANSITIONS = 10_000


class AlarmEngine(OperatorActions, TimedEvaluations):
    """Evaluates every configured alarm and keeps its state in the journal.

    Sample-driven alarms run on sample timestamps, so their on/off delays do not
    depend on when a batch arrives. ``tick(now)`` completes delays, stale-data
    timers, shelve expiry and scheduled rules on the engine clock. A BAD sample or
    a None value leaves a value alarm and its delay timer as they are: stale data
    is not a return to normal. UNCERTAIN samples are evaluated like GOOD ones.

    Shelved, suppressed and out-of-service alarms keep tracking their condition;
    their condition changes are journaled with ``shown`` False and are not
    returned, so nothing downstream notifies them.

    Every public method takes one lock, so the dashboard thread may call
    ``acknowledge``, ``shelve`` and ``active`` while the event loop calls
    ``process`` and ``tick``.
    """

    def __init__(
        self,
        config: Config,
        journal_path: str | os.PathLike | None = None,
        clock: Callable[[], float] = time.time,
        history: AggregateSource | None = None,
    ):
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, object] = {}
        catalog = build_catalog(config, self._latest, clock())
        self._catalog = catalog
        self._alarms = catalog.alarms
        self._by_tag = catalog.by_tag
        self._history = history
        self._flood = FloodDetector(config.alarms)

        if journal_path is None:
            journal_path = config.data_path() / JOURNAL_NAME
        self._journal = Journal(journal_path)
        restored = restore_alarms(self._journal.load_states(), self._alarms)
        self._raised = 0
        self._raised_before = self._journal.count_raised()
        self._reload_flood_window()

        # Alarms and transitions not yet stored, kept across a failed write.
        self._unsaved: dict[str, Alarm] = {}
        self._unsaved_transitions: list[Transition] = []
        self._journal_failing = False
        log.info(
            "alarm engine started: %d alarms on %d tags, %d scheduled, %d restored"
            " from %s",
            len(self._alarms),
            len(self._by_tag),
            len(catalog.scheduled),
            restored,
            self._journal.path,
        )

    def process(self, batch: Batch) -> list[Transition]:
        """Evaluate one batch of samples; return the transitions the operator sees."""
        with self._lock:
            out: list[Transition] = []
            catalog = self._catalog
            for sample in batch:
                alarms = self._by_tag.get(sample.tag)
                if alarms is None and sample.tag not in catalog.watched:
                    continue
                self._note_sample(sample, out)
                if alarms is None:
                    continue
                unusable = sample.quality == Quality.BAD or sample.value is None
                for alarm in alarms:
                    if unusable and not alarm.rule.reads_bad:
                        continue
                    self._evaluate(alarm, sample, out)

            self._commit()
            return out

    def set_system_condition(
        self, alarm_id: str, active: bool, now: float, reason: str
    ) -> list[Transition]:
        """Raise or clear an alarm about Vigie itself, such as an unreachable
        historian database. Raises KeyError for an id that is not a system alarm."""
        if alarm_id not in SYSTEM_ALARMS:
            raise KeyError(alarm_id)
        with self._lock:
            alarm = self._alarms[alarm_id]
            out: list[Transition] = []
            self._emit(alarm.set_condition(active, now, None, reason), alarm, out)
            self._commit()
            return out

    def on_device_state(self, status: DeviceStatus, now: float) -> list[Transition]:
        """Raise or clear the device's communication-loss alarm.

        DISCONNECTED raises it and CONNECTED clears it, while STARTING and STOPPED
        change nothing. While it is active, the stale and bad-quality alarms of the
        device's tags are suppressed. The method fits ``DeviceStatus.listeners``.
        """
        if status.state is ConnectionState.DISCONNECTED:
            condition = True
            reason = "communication lost"
            if status.last_error:
                reason = f"communication lost: {status.last_error}"
        elif status.state is ConnectionState.CONNECTED:
            condition = False
            reason = "communication restored"
        else:
            return []

        alarm_id = f"{status.name}.{COMM_LOSS}"
        with self._lock:
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                log.warning(
                    "device %s not found in the configuration, state %s ignored",
                    status.name,
                    status.state.value,
                )
                return []

            out: list[Transition] = []
            self._emit(alarm.set_condition(condition, now, None, reason), alarm, out)
            for dependent in self._catalog.by_device.get(status.name, ()):
                self._set_hidden(
                    dependent,
                    lambda a: setattr(a, "suppressed_by_device", condition),
                    now,
                    None,
                    f"device {status.name} {reason}",
                    out,
                )
            self._commit()
            return out

    def tick(self, now: float) -> list[Transition]:
        """Run the time-driven evaluations at engine time ``now``; return the
        transitions the operator sees.

        In order: shelve expiry, stale-data timers, on/off delays that elapse
        without a new sample, the end of floods, and the scheduled rules that are
        due. The scheduled rules query the historian, which may take a while on a
        remote backend; the lock is released during those queries.
        """
        with self._lock:
            out: list[Transition] = []
            self._expire_shelves(now, out)
            self._check_stale(now, out)
            self._complete_delays(now, out)
            self._check_floods(now, out)
            due = [
                (alarm, rule)
                for alarm, rule in self._catalog.scheduled
                if rule.due(now)
            ]
            self._commit()

        if due:
            out += self._run_scheduled(due, now)
        return out

    def active(self, include_hidden: bool = False) -> list[dict]:
        """Return every alarm the operator must see: not in NORMAL and not hidden,
        critical first, then most recent first.

        With ``include_hidden``, also every shelved, suppressed or out-of-service
        alarm, whatever its condition.
        """
        with self._lock:
            listed = [
                alarm
                for alarm in self._alarms.values()
                if (alarm.state is not AlarmState.NORMAL and not alarm.hidden)
                or (include_hidden and alarm.hidden)
            ]
            listed.sort(key=lambda a: (PRIORITY_RANK[a.priority], -(a.since or 0.0)))
            tracks = self._catalog.tracks
            return [alarm.as_dict(stale=_is_stale(alarm, tracks)) for alarm in listed]

    def in_flood(self, area: str) -> bool:
        """Return True while ``area``'s flood alarm is active."""
        with self._lock:
            alarm = self._catalog.flood_alarms.get(area)
            return alarm is not None and alarm.state.condition_active

    def stats(self) -> dict:
        """Return alarm counts.

        ``raised`` counts shown activations since this engine started and
        ``raised_total`` those stored in the journal file. ``active`` counts the
        alarms that ``active()`` returns, ``unacknowledged`` those of them in
        unack_active or unack_rtn, and ``shelved``, ``suppressed`` and
        ``out_of_service`` the hidden alarms by what hides them.
        """
        with self._lock:
            alarms = list(self._alarms.values())
            raised = self._raised
            raised_total = self._raised_before + raised
            shown = [alarm.shown_state for alarm in alarms]
        counts = {state: shown.count(state) for state in AlarmState}
        condition_states = (
            AlarmState.UNACK_ACTIVE,
            AlarmState.ACK_ACTIVE,
            AlarmState.UNACK_RTN,
        )
        return {
            "raised": raised,
            "raised_total": raised_total,
            "active": sum(counts[state] for state in condition_states),
            "unacknowledged": counts[AlarmState.UNACK_ACTIVE]
            + counts[AlarmState.UNACK_RTN],
            "shelved": counts[AlarmState.SHELVED],
            "suppressed": counts[AlarmState.SUPPRESSED],
            "out_of_service": counts[AlarmState.OUT_OF_SERVICE],
        }

    def report(self, start: float, end: float, area: str | None = None) -> dict:
        """Return the alarm-system performance from ``start`` to ``end`` (seconds
        since the epoch), per area; see ``alarms.report.build_report``."""
        with self._lock:
            self._commit()
            return build_report(
                self._journal.connection,
                start,
                end,
                area=area,
                areas=self._areas_by_alarm(),
                settings=self._config.alarms,
            )

    def close(self) -> None:
        with self._lock:
            self._commit()
            self._journal.close()
            history = self._history
        reader = getattr(history, "reader", None)
        if reader is not None:
            reader.close()
        log.info("alarm engine stopped")

    def _note_sample(self, sample: Sample, out: list[Transition]) -> None:
        track = self._catalog.tracks.get(sample.tag)
        bad = sample.quality == Quality.BAD
        if track is not None:
            track.bad = bad
            if not bad:
                track.last_fresh_ts = sample.ts

        if sample.tag in self._catalog.watched:
            self._latest[sample.tag] = None if bad else sample.value
            for alarm in self._catalog.suppressed_by_tag.get(sample.tag, ()):
                self._update_suppression(alarm, sample.ts, out)

    def _update_suppression(
        self, alarm: Alarm, ts: float, out: list[Transition]
    ) -> None:
        result = alarm.suppression(self._latest)
        if result is None or bool(result) == alarm.suppressed_by_rule:
            return
        suppressed = bool(result)
        reason = f"{alarm.suppression.text} is {'true' if suppressed else 'false'}"
        self._set_hidden(
            alarm,
            lambda a: setattr(a, "suppressed_by_rule", suppressed),
            ts,
            None,
            f"suppressed by design: {reason}" if suppressed else f"released: {reason}",
            out,
        )

    def _evaluate(self, alarm: Alarm, sample: Sample, out: list[Transition]) -> None:
        condition = alarm.rule.condition(sample, alarm.state.condition_active)
        if condition is None:
            return
        alarm.last_value = self._shown_value(alarm, sample)
        if not alarm.debounce(condition, sample.ts):
            if alarm.dirty:
                self._unsaved[alarm.id] = alarm
            return

        reason = alarm.rule.describe(alarm.last_value, condition)
        transition = alarm.set_condition(condition, sample.ts, alarm.last_value, reason)
        self._emit(transition, alarm, out)

    def _shown_value(self, alarm: Alarm, sample: Sample):
        if alarm.tag is None:
            return None
        if alarm.tag == sample.tag:
            return sample.value
        return self._latest.get(alarm.tag)

    def _emit(
        self, transition: Transition | None, alarm: Alarm, out: list[Transition]
    ) -> None:
        """Journal a transition, return it when shown, and count floods."""
        self._unsaved[alarm.id] = alarm
        if transition is None:
            return

        self._unsaved_transitions.append(transition)
        log.info(
            "alarm %s: %s -> %s (value %r)%s",
            transition.alarm_id,
            transition.from_state.value,
            transition.to_state.value,
            transition.value,
            "" if transition.shown else ", hidden",
        )
        if not transition.shown:
            return
        out.append(transition)

        activation = transition.to_state is AlarmState.UNACK_ACTIVE and (
            transition.from_state in (AlarmState.NORMAL, AlarmState.UNACK_RTN)
        )
        if not activation:
            return
        self._raised += 1
        if alarm.type == FLOOD:
            return
        if self._flood.add(alarm.area, transition.ts):
            flood = self._catalog.flood_alarms[alarm.area]
            if not flood.state.condition_active:
                reason = (
                    f"more than {self._flood.threshold} new alarms in"
                    f" {self._flood.window_s:g} s"
                )
                change = flood.set_condition(True, transition.ts, None, reason)
                self._emit(change, flood, out)

    def _set_hidden(
        self, alarm, change, ts: float, user, reason: str, out: list[Transition]
    ) -> Transition | None:
        transition = alarm.change_visibility(change, ts, user, reason)
        self._emit(transition, alarm, out)
        return transition

    def _areas_by_alarm(self) -> dict[str, tuple[str, str]]:
        return {
            alarm.id: (alarm.area, alarm.priority) for alarm in self._alarms.values()
        }

    def _reload_flood_window(self) -> None:
        start = self._clock() - self._config.alarms.flood_window_s
        for ts, alarm_id, area in self._journal.activations_since(start):
            alarm = self._alarms.get(alarm_id)
            if alarm is None or alarm.type == FLOOD:
                continue
            self._flood.add(area or alarm.area, ts)

    def _commit(self) -> None:
        """Store the pending transitions and every changed alarm in one transaction.

        A failed write is logged and everything stays queued for the next commit.
        """
        if not self._unsaved and not self._unsaved_transitions:
            return

        dropped = len(self._unsaved_transitions) - MAX_UNSAVED_TRANSITIONS
        if dropped > 0:
            # NOTE: while the file stays unwritable, the oldest journal rows are
            # dropped here. The alarm_state rows are still rewritten on recovery.
            log.error(
                "alarm journal %s: %d unsaved transitions dropped",
                self._journal.path,
                dropped,
            )
            del self._unsaved_transitions[:dropped]

        try:
            self._journal.save(self._unsaved_transitions, self._unsaved.values())
        except sqlite3.Error as err:
            if not self._journal_failing:
                log.error(
                    "alarm journal %s: write of %d alarm states failed: %s",
                    self._journal.path,
                    len(self._unsaved),
                    err,
                )
            self._journal_failing = True
            return

        if self._journal_failing:
            log.info("alarm journal %s: writes succeed again", self._journal.path)
            self._journal_failing = False
        for alarm in self._unsaved.values():
            alarm.dirty = False
        self._unsaved.clear()
        self._unsaved_transitions.clear()


def _is_stale(alarm: Alarm, tracks) -> bool:
    if alarm.tag is None or alarm.type == "stale":
        return False
    track = tracks.get(alarm.tag)
    return track is not None and track.stale
