"""The alarm engine: samples and device states in, ISA-18.2 transitions out."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from alarms.alarm import Alarm
from alarms.journal import JOURNAL_NAME, Journal
from alarms.rules import DiscreteRule, default_message, make_rule
from alarms.states import PRIORITY_RANK, AlarmState, Transition
from vigie.config import Config
from vigie.errors import ConfigError
from vigie.model import Batch, ConnectionState, DeviceStatus, Quality

log = logging.getLogger(__name__)

COMM_LOSS = "comm_loss"

# Transitions kept in memory while the journal cannot be written.
MAX_UNSAVED_TRANSITIONS = 10_000


class AlarmEngine:
    """Evaluates every configured alarm and keeps its state in the journal.

    Limit and discrete alarms run on sample timestamps, so their on/off delays do
    not depend on when a batch arrives. A BAD sample or a None value leaves an
    alarm and its delay timer as they are: stale data is not a return to normal.
    UNCERTAIN samples are evaluated like GOOD ones.

    Every public method takes one lock, so the dashboard thread may call
    ``acknowledge`` and ``active`` while the event loop calls ``process``.
    """

    def __init__(
        self,
        config: Config,
        journal_path: str | os.PathLike | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._clock = clock
        self._lock = threading.Lock()
        self._alarms: dict[str, Alarm] = {}
        self._by_tag: dict[str, tuple[Alarm, ...]] = {}
        self._build(config)

        if journal_path is None:
            journal_path = config.data_path() / JOURNAL_NAME
        self._journal = Journal(journal_path)
        restored = self._restore()
        self._raised = 0
        self._raised_before = self._journal.count_raised()

        # Alarms and transitions not yet stored, kept across a failed write.
        self._unsaved: dict[str, Alarm] = {}
        self._unsaved_transitions: list[Transition] = []
        self._journal_failing = False
        log.info(
            "alarm engine started: %d alarms on %d tags, %d restored from %s",
            len(self._alarms),
            len(self._by_tag),
            restored,
            self._journal.path,
        )

    def process(self, batch: Batch) -> list[Transition]:
        """Evaluate one batch of samples; return the transitions it caused."""
        with self._lock:
            transitions: list[Transition] = []
            by_tag = self._by_tag
            for sample in batch:
                alarms = by_tag.get(sample.tag)
                if alarms is None:
                    continue
                if sample.quality == Quality.BAD or sample.value is None:
                    continue
                for alarm in alarms:
                    transition = self._evaluate(alarm, sample.value, sample.ts)
                    if transition is not None:
                        transitions.append(transition)
                    if alarm.dirty:
                        self._unsaved[alarm.id] = alarm

            self._commit(transitions)
            return transitions

    def on_device_state(self, status: DeviceStatus, now: float) -> list[Transition]:
        """Raise or clear the device's communication-loss alarm.

        DISCONNECTED raises it and CONNECTED clears it, while STARTING and STOPPED
        change nothing. The method fits ``DeviceStatus.listeners`` directly.
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

            transition = alarm.set_condition(condition, now, None, reason)
            if transition is None:
                return []

            self._note(transition)
            self._unsaved[alarm.id] = alarm
            self._commit([transition])
            return [transition]

    def acknowledge(
        self, alarm_id: str, user: str, comment: str = ""
    ) -> Transition | None:
        """Acknowledge an alarm. Return None when it has nothing to acknowledge.

        Raises KeyError for an unknown alarm id.
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
                    alarm.state.value,
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
            self._commit([transition])
            return transition

    def active(self) -> list[dict]:
        """Return every alarm not in NORMAL: critical first, then most recent first."""
        with self._lock:
            not_normal = [
                alarm
                for alarm in self._alarms.values()
                if alarm.state is not AlarmState.NORMAL
            ]
        not_normal.sort(key=lambda a: (PRIORITY_RANK[a.priority], -(a.since or 0.0)))
        return [alarm.as_dict() for alarm in not_normal]

    def stats(self) -> dict:
        """Return alarm counts.

        ``raised`` counts activations since this engine started and
        ``raised_total`` those stored in the journal file. ``active`` counts the
        alarms that ``active()`` returns (every state but NORMAL) and
        ``unacknowledged`` those in unack_active or unack_rtn.
        """
        with self._lock:
            states = [alarm.state for alarm in self._alarms.values()]
            raised = self._raised
            raised_total = self._raised_before + raised
        unacknowledged = (AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN)
        return {
            "raised": raised,
            "raised_total": raised_total,
            "active": sum(state is not AlarmState.NORMAL for state in states),
            "unacknowledged": sum(state in unacknowledged for state in states),
        }

    def close(self) -> None:
        with self._lock:
            self._journal.close()
        log.info("alarm engine stopped")

    def _evaluate(self, alarm: Alarm, value, ts: float) -> Transition | None:
        condition = alarm.rule.condition(value, alarm.state.condition_active)
        if condition is None:
            return None
        if not alarm.debounce(condition, ts):
            return None

        reason = alarm.rule.describe(value, condition)
        transition = alarm.set_condition(condition, ts, value, reason)
        if transition is not None:
            self._note(transition)
        return transition

    def _note(self, transition: Transition) -> None:
        if transition.to_state is AlarmState.UNACK_ACTIVE:
            self._raised += 1
        log.info(
            "alarm %s: %s -> %s (value %r)",
            transition.alarm_id,
            transition.from_state.value,
            transition.to_state.value,
            transition.value,
        )

    def _commit(self, transitions: list[Transition]) -> None:
        """Store the transitions and every changed alarm in one transaction.

        A failed write is logged and everything stays queued for the next commit.
        """
        self._unsaved_transitions.extend(transitions)
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

    def _build(self, config: Config) -> None:
        by_tag: dict[str, list[Alarm]] = {}
        for device in config.devices:
            comm_id = f"{device.name}.{COMM_LOSS}"
            self._add(
                Alarm(
                    id=comm_id,
                    tag=None,
                    type=COMM_LOSS,
                    priority=device.comm_alarm_priority,
                    message=f"Communication lost with {device.name}",
                )
            )
            for tag in device.tags:
                full_name = f"{device.name}.{tag.name}"
                label = tag.description or full_name
                for configured in tag.alarms:
                    if not configured.enabled:
                        continue
                    alarm = Alarm(
                        id=f"{full_name}.{configured.type}",
                        tag=full_name,
                        type=configured.type,
                        priority=configured.priority,
                        message=configured.message
                        or default_message(configured, label, tag.unit),
                        rule=make_rule(configured),
                        on_delay_s=configured.on_delay_s,
                        off_delay_s=configured.off_delay_s,
                    )
                    self._add(alarm)
                    by_tag.setdefault(full_name, []).append(alarm)

        self._by_tag = {tag: tuple(alarms) for tag, alarms in by_tag.items()}

    def _add(self, alarm: Alarm) -> None:
        if alarm.id in self._alarms:
            raise ConfigError(
                f"duplicate alarm id {alarm.id!r}: a tag may have one alarm of each"
                " type, so merge or remove the repeated entry in its 'alarms' list"
            )
        self._alarms[alarm.id] = alarm

    def _restore(self) -> int:
        """Load every stored alarm state and return how many alarms were restored."""
        rows = self._journal.load_states()
        restored = 0
        for alarm_id, row in rows.items():
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                log.info(
                    "alarm %s: stored state ignored, alarm not configured", alarm_id
                )
                continue
            try:
                alarm.state = AlarmState(row["state"])
            except ValueError:
                log.warning("alarm %s: unknown stored state %r", alarm_id, row["state"])
                continue

            value = row["value"]
            if isinstance(alarm.rule, DiscreteRule) and value is not None:
                if isinstance(alarm.rule.value, bool):
                    value = bool(value)
            alarm.value = value
            alarm.since = row["since"]
            alarm.acked_by = row["acked_by"]
            alarm.acked_ts = row["acked_ts"]
            alarm.pending_since = row["pending_since"]
            restored += 1
        return restored

