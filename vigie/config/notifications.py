"""Notification channels, recipients, on-call rosters and escalation policies."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigie.config.base import NAME_PATTERN, Frozen, Priority

# Channel names appear in key paths of error messages, so they stay identifiers.
CHANNEL_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

# Escalation targets that a roster resolves at the time of the step.
ROSTER_TARGETS = ("on_call", "next_on_call", "supervisor")

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
Weekday = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]

WEBHOOK_SCHEMES = ("json://", "jsons://", "form://", "forms://", "xml://", "xmls://")


class Channel(Frozen):
    """One way to reach people: e-mail, a webhook or an SMS gateway over HTTP.

    E-mail and webhooks go through apprise URLs. An SMS gateway is called with the
    request built from ``method``, ``url``, ``headers`` and ``body``, in which
    ``{to}``, ``{message}`` and ``{token}`` are replaced, escaped for ``body_format``.
    """

    type: Literal["email", "webhook", "sms"]
    # email: mailto:// or mailtos:// apprise URL with ?from=; the recipient is added.
    # webhook: json://, form:// or xml:// apprise URL. sms: http(s) gateway URL.
    url: str = Field(min_length=1)
    # email: SMTP user; the password comes from the variable named by password_env.
    username: str = ""
    # Name of the environment variable holding the SMTP password; never the password.
    password_env: str = ""
    # sms: name of the environment variable holding the gateway token ({token}).
    token_env: str = ""
    method: Literal["GET", "POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    body_format: Literal["json", "form", "xml", "text"] = "json"
    # Maximum message length on this channel; longer texts are cut, ending in "...".
    max_chars: int = Field(default=160, ge=40, le=10_000)
    timeout_s: float = Field(default=10.0, gt=0.0, le=300.0)

    @model_validator(mode="after")
    def _check_type_fields(self) -> Channel:
        if self.type == "email":
            if not self.url.startswith(("mailto://", "mailtos://")):
                raise ValueError(
                    "url: an email channel needs a mailto:// or mailtos:// URL"
                )
        elif self.type == "webhook":
            if not self.url.startswith(WEBHOOK_SCHEMES):
                raise ValueError(
                    "url: a webhook channel needs a json://, form:// or xml:// URL"
                    " (or jsons://, forms://, xmls:// for HTTPS)"
                )
        elif not self.url.startswith(("http://", "https://")):
            raise ValueError("url: an sms channel needs an http:// or https:// URL")

        if self.type != "sms" and (self.body or self.headers or self.token_env):
            raise ValueError(
                "body: body, headers and token_env apply to sms channels only"
            )
        return self


class RateLimit(Frozen):
    """At most ``max_messages`` to one recipient in any ``window_s`` seconds."""

    max_messages: int = Field(default=10, ge=1, le=10_000)
    window_s: float = Field(default=600.0, gt=0.0, le=86_400.0)


class Recipient(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    # Channel name -> address: an e-mail address, a phone number, or "" for webhooks.
    contacts: dict[str, str] = Field(min_length=1)
    # Overrides notifications.rate_limit for this recipient.
    rate_limit: RateLimit | None = None


class EscalationStep(Frozen):
    # Seconds after the alarm became active without acknowledgement.
    after_s: float = Field(ge=0.0)
    # on_call, next_on_call, supervisor (resolved from the roster), or a recipient.
    notify: str = Field(min_length=1)


class EscalationPolicy(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    steps: tuple[EscalationStep, ...] = Field(
        default=(EscalationStep(after_s=0.0, notify="on_call"),), min_length=1
    )
    # Tell everyone notified of an alarm when it returns to normal.
    notify_on_clear: bool = False
    # Stop escalating once the condition clears, even if nobody acknowledged.
    stop_on_clear: bool = False

    @field_validator("steps")
    @classmethod
    def _steps_in_order(cls, steps: tuple[EscalationStep, ...]):
        for index in range(1, len(steps)):
            if steps[index].after_s < steps[index - 1].after_s:
                raise ValueError(
                    f"[{index}].after_s: steps must be in order of after_s, but"
                    f" {steps[index].after_s:g} comes after"
                    f" {steps[index - 1].after_s:g}"
                )
        return steps


class Roster(Frozen):
    """On-call roster of an area, rotating weekly in the site's time zone."""

    area: str = Field(pattern=NAME_PATTERN)
    # Devices of the area; an empty list takes every device no other roster lists.
    devices: tuple[str, ...] = ()
    # Recipients in rotation order; people[0] is on call from rotation_start.
    people: tuple[str, ...] = Field(min_length=1)
    supervisor: str = ""
    # Local date of the first shift; it starts at the first handover on or after it.
    rotation_start: datetime.date
    handover_weekday: Weekday = "monday"
    # Local hour (0-23) of the handover.
    handover_hour: int = Field(default=8, ge=0, le=23)
    policy: str = "default"
    # Alarms of a lower priority are not notified.
    min_priority: Priority = "low"


class Subscriber(Frozen):
    """Customer contact of one meter, sent its high-consumption alarms."""

    # Full tag name, for example RES1.outflow.
    tag: str = Field(min_length=3)
    contacts: dict[str, str] = Field(min_length=1)


class NotificationsConfig(Frozen):
    """The top-level ``notifications:`` section."""

    enabled: bool = True
    channels: dict[str, Channel] = Field(default_factory=dict)
    recipients: tuple[Recipient, ...] = ()
    rosters: tuple[Roster, ...] = ()
    policies: tuple[EscalationPolicy, ...] = (EscalationPolicy(name="default"),)
    rate_limit: RateLimit = RateLimit()
    subscribers: tuple[Subscriber, ...] = ()
    # Alarm types sent to the meter's subscriber as well as to the on-call staff.
    subscriber_alarm_types: tuple[str, ...] = ("high_consumption",)
    # While an area floods, its alarms are sent as one summary per interval.
    flood_summary_interval_s: float = Field(default=300.0, gt=0.0, le=86_400.0)
    # Failed deliveries are retried after retry_min_s, doubling up to retry_max_s.
    retry_min_s: float = Field(default=5.0, gt=0.0, le=3600.0)
    retry_max_s: float = Field(default=300.0, gt=0.0, le=86_400.0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    # On stop, seconds to finish deliveries already due before leaving the rest.
    drain_timeout_s: float = Field(default=10.0, ge=0.0, le=600.0)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, channels: dict[str, Channel]):
        import re

        for name in channels:
            if not re.match(CHANNEL_PATTERN, name):
                raise ValueError(
                    f"invalid channel name {name!r}: use letters, digits and _,"
                    " starting with a letter"
                )
        return channels

    @model_validator(mode="after")
    def _check_references(self) -> NotificationsConfig:
        people = {recipient.name for recipient in self.recipients}
        if len(people) != len(self.recipients):
            raise ValueError("recipients: recipient names must be unique")

        for index, recipient in enumerate(self.recipients):
            self._check_contacts(f"recipients[{index}]", recipient.contacts)
        for index, subscriber in enumerate(self.subscribers):
            self._check_contacts(f"subscribers[{index}]", subscriber.contacts)

        policies = {policy.name for policy in self.policies}
        for index, policy in enumerate(self.policies):
            for step_index, step in enumerate(policy.steps):
                if step.notify not in ROSTER_TARGETS and step.notify not in people:
                    raise ValueError(
                        f"policies[{index}].steps[{step_index}].notify: unknown"
                        f" target {step.notify!r}; use on_call, next_on_call,"
                        " supervisor or a recipient name"
                    )

        self._check_rosters(people, policies)
        return self

    def _check_contacts(self, path: str, contacts: dict[str, str]) -> None:
        for channel, address in contacts.items():
            if channel not in self.channels:
                raise ValueError(
                    f"{path}.contacts: unknown channel {channel!r}; declare it under"
                    " notifications.channels"
                )
            kind = self.channels[channel].type
            if kind != "webhook" and not address:
                raise ValueError(
                    f"{path}.contacts: channel {channel!r} needs an address"
                )

    def _check_rosters(self, people: set[str], policies: set[str]) -> None:
        areas: set[str] = set()
        owner: dict[str, str] = {}
        catch_all = None
        for index, roster in enumerate(self.rosters):
            path = f"rosters[{index}]"
            if roster.area in areas:
                raise ValueError(f"{path}.area: a second roster for {roster.area!r}")
            areas.add(roster.area)

            for person_index, person in enumerate(roster.people):
                if person not in people:
                    raise ValueError(
                        f"{path}.people[{person_index}]: unknown recipient {person!r}"
                    )
            if roster.supervisor and roster.supervisor not in people:
                raise ValueError(
                    f"{path}.supervisor: unknown recipient {roster.supervisor!r}"
                )
            if roster.policy not in policies:
                raise ValueError(
                    f"{path}.policy: unknown escalation policy {roster.policy!r}"
                )

            if not roster.devices:
                if catch_all is not None:
                    raise ValueError(
                        f"{path}.devices: only one roster may leave devices empty,"
                        f" and {catch_all} already does"
                    )
                catch_all = path
            for device in roster.devices:
                if device in owner:
                    raise ValueError(
                        f"{path}.devices: device {device!r} is already in"
                        f" {owner[device]}"
                    )
                owner[device] = path
