"""Turns alarm transitions into messages: rosters, escalation, floods, rate limits.

Every decision is stored before anything is sent, so a restarted service finds
the same pending escalations. Each message has a unique key built from the alarm
id, the activation time, the step and the recipient, so no message is created twice.
"""

from __future__ import annotations

import json
import logging
from zoneinfo import ZoneInfo

from alarms.notify import messages
from alarms.notify.catalog import Catalog
from alarms.notify.messages import Text
from alarms.notify.roster import on_call
from alarms.notify.store import HELD, QUEUED, Episode, NotificationStore
from alarms.states import PRIORITY_RANK, AlarmState, Transition
from vigie.config import Config
from vigie.config.notifications import EscalationStep, RateLimit, Roster

log = logging.getLogger(__name__)

ACTIVE_STATES = ("unack_active", "ack_active")
# States in which the alarm engine keeps an alarm from the operators.
SILENCED_STATES = ("shelved", "suppressed", "out_of_service")
SUBSCRIBER_PREFIX = "subscriber:"


def is_acknowledge(transition: Transition) -> bool:
    """Return True for an acknowledge: to ack_active, or to normal from unack_rtn."""
    to_state = transition.to_state
    if to_state == AlarmState.ACK_ACTIVE:
        return True
    return (
        to_state == AlarmState.NORMAL and transition.from_state == AlarmState.UNACK_RTN
    )


def transition_label(transition: Transition) -> str:
    return f"{transition.from_state}->{transition.to_state}"


class Router:
    def __init__(self, config: Config, store: NotificationStore, tz: ZoneInfo) -> None:
        notifications = config.notifications
        self._config = notifications
        self._site = config.site.name
        self._tz = tz
        self._store = store
        self.catalog = Catalog(config)
        self._recipients = {r.name: r for r in notifications.recipients}
        self._policies = {p.name: p for p in notifications.policies}
        self._subscribers = {s.tag: s for s in notifications.subscribers}
        self._without_roster: set[str] = set()

    # Transitions.

    def route(self, transition: Transition, now: float) -> None:
        """Store the messages and the escalation that one transition calls for."""
        alarm_id = transition.alarm_id
        to_state = str(transition.to_state)

        flood_area = Catalog.flood_area(alarm_id)
        if flood_area is not None and flood_area in self.catalog.rosters:
            self._set_flood(flood_area, to_state in ACTIVE_STATES, now)

        if not getattr(transition, "shown", True):
            # A condition change of a hidden alarm is journaled, not annunciated.
            return
        if to_state in SILENCED_STATES:
            self._stop_escalation(alarm_id, f"alarm is {to_state}")
            return
        if is_acknowledge(transition):
            user = transition.user or "an operator"
            self._stop_escalation(alarm_id, f"acknowledged by {user}")
            if to_state == AlarmState.NORMAL:
                self._store.delete_episode(alarm_id)
            return
        if to_state == AlarmState.UNACK_ACTIVE:
            self._activate(transition, now)
        elif to_state in (AlarmState.UNACK_RTN, AlarmState.NORMAL):
            self._clear(transition, now)

    def _activate(self, transition: Transition, now: float) -> None:
        alarm_id = transition.alarm_id
        info = self.catalog.info(alarm_id)
        self._notify_subscriber(transition, now)

        area = self.catalog.area_of(alarm_id, getattr(transition, "area", ""))
        if area is None:
            if alarm_id not in self._without_roster:
                log.warning("alarm %s: no roster covers it, not notified", alarm_id)
                self._without_roster.add(alarm_id)
            return
        roster = self.catalog.rosters[area]
        rank = PRIORITY_RANK.get(transition.priority, len(PRIORITY_RANK))
        if rank > PRIORITY_RANK[roster.min_priority]:
            return

        existing = self._store.episode(alarm_id)
        if existing is not None and existing.activation_ts == transition.ts:
            return

        if info.type != "flood" and self._in_flood(area):
            self._store.buffer_flood_alarm(
                area, alarm_id, transition.ts, transition.priority
            )
            log.info("alarm %s: area %s floods, kept for the summary", alarm_id, area)
            return

        episode = Episode(
            alarm_id=alarm_id,
            activation_ts=transition.ts,
            started_ts=now,
            area=area,
            policy=roster.policy,
            next_step=0,
            due_ts=now,
            record=json.dumps(_record(transition)),
        )
        self._store.save_episode(episode)
        self._run_steps(episode, transition, now)

    def _clear(self, transition: Transition, now: float) -> None:
        episode = self._store.episode(transition.alarm_id)
        if episode is None:
            return
        policy = self._policies[episode.policy]
        if policy.notify_on_clear:
            kinds = (messages.ALARM, messages.ESCALATION)
            told = self._store.recipients_of(
                transition.alarm_id, kinds, episode.started_ts
            )
            for recipient in told:
                self._send_about(
                    messages.CLEAR, transition, recipient, episode.activation_ts, now
                )

        if transition.to_state == AlarmState.NORMAL:
            self._store.delete_episode(transition.alarm_id)
        elif policy.stop_on_clear:
            self._stop_escalation(transition.alarm_id, "condition cleared")

    def _stop_escalation(self, alarm_id: str, why: str) -> None:
        episode = self._store.episode(alarm_id)
        if episode is None or episode.next_step is None:
            return
        self._store.save_episode(_with_step(episode, None, None))
        log.info("alarm %s: escalation stopped, %s", alarm_id, why)

    # Escalation.

    def escalate_due(self, now: float) -> None:
        """Run every escalation step that has come due, once each."""
        for episode in self._store.due_escalations(now):
            transition = _transition(json.loads(episode.record))
            self._run_steps(episode, transition, now)

    def _run_steps(self, episode: Episode, transition: Transition, now: float) -> None:
        steps = self._policies[episode.policy].steps
        roster = self.catalog.rosters[episode.area]
        step = episode.next_step
        while step < len(steps) and episode.started_ts + steps[step].after_s <= now:
            kind = messages.ESCALATION if steps[step].after_s > 0 else messages.ALARM
            for recipient in self._targets(steps[step], roster, now):
                self._send_about(
                    kind, transition, recipient, episode.activation_ts, now, step
                )
            if kind == messages.ESCALATION:
                log.info(
                    "alarm %s: escalated to step %d (%s)",
                    episode.alarm_id,
                    step,
                    steps[step].notify,
                )
            step += 1

        if step < len(steps):
            due = episode.started_ts + steps[step].after_s
            self._store.save_episode(_with_step(episode, step, due))
        else:
            self._store.save_episode(_with_step(episode, None, None))

    def _targets(self, step: EscalationStep, roster: Roster, now: float) -> list[str]:
        if step.notify == "on_call":
            return [on_call(roster, now, self._tz)]
        if step.notify == "next_on_call":
            return [on_call(roster, now, self._tz, offset=1)]
        if step.notify == "supervisor":
            if not roster.supervisor:
                log.warning("roster %s has no supervisor to escalate to", roster.area)
                return []
            return [roster.supervisor]
        return [step.notify]

    # Subscribers.

    def _notify_subscriber(self, transition: Transition, now: float) -> None:
        info = self.catalog.info(transition.alarm_id)
        wanted = (
            info.notify_subscriber or info.type in self._config.subscriber_alarm_types
        )
        if not wanted or info.tag not in self._subscribers:
            return
        recipient = SUBSCRIBER_PREFIX + info.tag
        self._send_about(messages.SUBSCRIBER, transition, recipient, transition.ts, now)

    # Floods.

    def _set_flood(self, area: str, active: bool, now: float) -> None:
        known = self._store.floods().get(area)
        was_active = known is not None and known[0]
        if active == was_active:
            return
        self._store.set_flood(area, active, now)
        log.info("area %s: flood %s", area, "started" if active else "ended")

    def _in_flood(self, area: str) -> bool:
        known = self._store.floods().get(area)
        return known is not None and known[0]

    def summarise_floods(self, now: float) -> None:
        """Send one summary per area whose interval passed or whose flood ended."""
        interval = self._config.flood_summary_interval_s
        for area, (active, last_summary_ts) in self._store.floods().items():
            if active and now - last_summary_ts < interval:
                continue
            buffered = self._store.take_flood_buffer(area, now)
            if not buffered:
                continue

            pairs = [(alarm_id, priority) for alarm_id, priority, _ in buffered]
            headline = f"FLOOD in {area}"
            text = messages.summary_text(
                self._site, headline, pairs, buffered[0][2], self._tz
            )
            roster = self.catalog.rosters[area]
            policy = self._policies[roster.policy]
            immediate = [step for step in policy.steps if step.after_s == 0]
            for step in immediate or policy.steps[:1]:
                for recipient in self._targets(step, roster, now):
                    self._add(
                        key=f"flood|{area}|{now!r}|{recipient}",
                        now=now,
                        alarm_id=f"{area}.flood",
                        transition=f"{len(pairs)} alarms summarised",
                        kind=messages.FLOOD_SUMMARY,
                        recipient=recipient,
                        priority=_top_priority(pairs),
                        text=text,
                    )

    # Rate limits.

    def release_held(self, now: float) -> None:
        """Send what the rate limit held, once the recipient's window has room.

        One held message goes out as it is; several become one summary.
        """
        for recipient, held in self._store.held().items():
            limit = self._rate_limit(recipient)
            if (
                self._store.count_queued(recipient, now - limit.window_s)
                >= limit.max_messages
            ):
                continue

            contacts = self._contacts(recipient)
            if len(held) == 1:
                self._store.release(held[0].id, now, contacts)
                continue

            pairs = [(message.alarm_id, message.priority) for message in held]
            text = messages.summary_text(
                self._site, "RATE LIMIT", pairs, held[0].created_ts, self._tz
            )
            self._store.mark_summarised([message.id for message in held])
            self._add(
                key=f"rate|{recipient}|{now!r}",
                now=now,
                alarm_id="",
                transition=f"{len(held)} held messages",
                kind=messages.RATE_SUMMARY,
                recipient=recipient,
                priority=_top_priority(pairs),
                text=text,
                limited=False,
            )

    def _rate_limit(self, recipient: str) -> RateLimit:
        person = self._recipients.get(recipient)
        if person is not None and person.rate_limit is not None:
            return person.rate_limit
        return self._config.rate_limit

    # Messages.

    def _send_about(
        self,
        kind: str,
        transition: Transition,
        recipient: str,
        activation_ts: float,
        now: float,
        step: int = 0,
    ) -> None:
        info = self.catalog.info(transition.alarm_id)
        unacked_s = None
        if kind == messages.ESCALATION:
            episode = self._store.episode(transition.alarm_id)
            unacked_s = now - episode.started_ts if episode else None
        text = messages.alarm_text(
            self._site, info, transition, kind, self._tz, unacked_s=unacked_s
        )
        self._add(
            key=f"{kind}|{transition.alarm_id}|{activation_ts!r}|{step}|{recipient}",
            now=now,
            alarm_id=transition.alarm_id,
            transition=transition_label(transition),
            kind=kind,
            recipient=recipient,
            priority=transition.priority,
            text=text,
        )

    def _add(
        self,
        *,
        key: str,
        now: float,
        alarm_id: str,
        transition: str,
        kind: str,
        recipient: str,
        priority: str,
        text: Text,
        limited: bool = True,
    ) -> None:
        status = QUEUED
        if limited and self._over_limit(recipient, now):
            status = HELD
        fields = {
            "alarm_id": alarm_id,
            "transition": transition,
            "kind": kind,
            "recipient": recipient,
            "priority": priority,
            "title": text.title,
            "body": text.body,
            "short": text.short,
        }
        message_id = self._store.add_message(
            key, now, fields, status, self._contacts(recipient)
        )
        if message_id is None:
            log.debug("message %s exists already, not sent again", key)
            return
        if status == HELD:
            limit = self._rate_limit(recipient)
            log.info(
                "alarm %s: message to %s held by the rate limit", alarm_id, recipient
            )
            self._store.log_event(
                now,
                self._store.message(message_id),
                "held",
                f"rate limit of {limit.max_messages} per {limit.window_s:g} s",
            )

    def _over_limit(self, recipient: str, now: float) -> bool:
        if recipient in self._store.held():
            return True
        limit = self._rate_limit(recipient)
        sent = self._store.count_queued(recipient, now - limit.window_s)
        return sent >= limit.max_messages

    def _contacts(self, recipient: str) -> dict[str, str]:
        if recipient.startswith(SUBSCRIBER_PREFIX):
            return dict(
                self._subscribers[recipient.removeprefix(SUBSCRIBER_PREFIX)].contacts
            )
        return dict(self._recipients[recipient].contacts)


def _with_step(episode: Episode, step: int | None, due: float | None) -> Episode:
    return Episode(
        episode.alarm_id,
        episode.activation_ts,
        episode.started_ts,
        episode.area,
        episode.policy,
        step,
        due,
        episode.record,
    )


def _record(transition: Transition) -> dict:
    return {
        "alarm_id": transition.alarm_id,
        "ts": transition.ts,
        "from_state": str(transition.from_state),
        "to_state": str(transition.to_state),
        "value": transition.value,
        "user": transition.user,
        "reason": transition.reason,
        "priority": transition.priority,
        "message": transition.message,
    }


def _transition(record: dict) -> Transition:
    return Transition(**record)


def _top_priority(pairs: list[tuple[str, str]]) -> str:
    return min(
        (priority for _, priority in pairs),
        key=lambda p: PRIORITY_RANK.get(p, len(PRIORITY_RANK)),
    )
