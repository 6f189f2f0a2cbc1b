"""Every configured alarm, built from the config, with the indexes the engine uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from alarms.alarm import Alarm
from alarms.expressions import parse_expression
from alarms.flood import FLOOD
from alarms.rules import StaleRule, default_message, make_expression_rule, make_rule
from alarms.scheduled import HighConsumption, MinNightFlow, ScheduledRule
from vigie.config import Config
from vigie.errors import ConfigError

COMM_LOSS = "comm_loss"
SITE_AREA = "site"
# Alarms about Vigie itself, raised by the runtime through set_system_condition.
SYSTEM = "system"
SYSTEM_ALARMS = {
    "historian.unreachable": "Historian database unreachable, samples wait in spool",
    "historian.spool_overflow": "Store-and-forward overflow: samples were dropped",
}
FRESHNESS_TYPES = ("stale", "bad_quality")


@dataclass(slots=True)
class TagTrack:
    """Freshness of one tag: the last fresh sample and whether the last was BAD."""

    tag: str
    last_fresh_ts: float
    bad: bool = False
    stale_alarm: Alarm | None = None

    @property
    def stale(self) -> bool:
        if self.bad:
            return True
        return self.stale_alarm is not None and self.stale_alarm.state.condition_active


@dataclass
class Catalog:
    alarms: dict[str, Alarm] = field(default_factory=dict)
    # Alarms evaluated on each sample of a tag.
    by_tag: dict[str, tuple[Alarm, ...]] = field(default_factory=dict)
    # Alarms whose suppression expression reads a tag.
    suppressed_by_tag: dict[str, tuple[Alarm, ...]] = field(default_factory=dict)
    # Stale and bad-quality alarms of each device, suppressed during its
    # communication loss.
    by_device: dict[str, tuple[Alarm, ...]] = field(default_factory=dict)
    tracks: dict[str, TagTrack] = field(default_factory=dict)
    # Tags whose latest value a multi-tag rule or a suppression reads.
    watched: frozenset[str] = frozenset()
    scheduled: list[tuple[Alarm, ScheduledRule]] = field(default_factory=list)
    flood_alarms: dict[str, Alarm] = field(default_factory=dict)

    def add(self, alarm: Alarm) -> None:
        if alarm.id in self.alarms:
            raise ConfigError(
                f"duplicate alarm id {alarm.id!r}: a tag may have one alarm of each"
                " type and every rule name must be unique, so merge or rename the"
                " repeated entry"
            )
        self.alarms[alarm.id] = alarm


def build_catalog(config: Config, latest: dict, now: float) -> Catalog:
    """Build every alarm of the config. ``latest`` is the engine's table of latest
    values, which multi-tag rules read; ``now`` starts every stale timer."""
    catalog = Catalog()
    by_tag: dict[str, list[Alarm]] = {}
    suppressed_by_tag: dict[str, list[Alarm]] = {}
    by_device: dict[str, list[Alarm]] = {}
    watched: set[str] = set()
    known_tags = set(config.tag_names())
    areas: set[str] = set()

    def watch(alarm: Alarm, inputs, suppression_text: str) -> None:
        for name in inputs:
            by_tag.setdefault(name, []).append(alarm)
        if suppression_text:
            alarm.suppression = parse_expression(suppression_text)
            for name in alarm.suppression.tags:
                suppressed_by_tag.setdefault(name, []).append(alarm)
                watched.add(name)
        for name in list(inputs) + list(
            alarm.suppression.tags if alarm.suppression else ()
        ):
            if name not in known_tags:
                raise ConfigError(
                    f"alarm {alarm.id}: unknown tag {name!r}; use a full tag name"
                    " <device>.<tag> declared under devices"
                )

    for device in config.devices:
        device_area = getattr(device, "area", "") or device.name
        areas.add(device_area)
        catalog.add(
            Alarm(
                id=f"{device.name}.{COMM_LOSS}",
                tag=None,
                type=COMM_LOSS,
                priority=device.comm_alarm_priority,
                message=f"Communication lost with {device.name}",
                area=device_area,
                device=device.name,
            )
        )
        stale_after_s = _sample_interval_s(device)
        for tag in device.tags:
            full_name = f"{device.name}.{tag.name}"
            label = tag.description or full_name
            tag_area = tag.area or device_area
            enabled = [configured for configured in tag.alarms if configured.enabled]
            if enabled:
                catalog.tracks[full_name] = TagTrack(full_name, last_fresh_ts=now)
            for configured in enabled:
                area = configured.area or tag_area
                areas.add(area)
                rule = make_rule(
                    configured,
                    full_name,
                    latest,
                    configured.after_polls * stale_after_s,
                )
                on_delay_s = configured.on_delay_s
                if configured.type == "bad_quality":
                    on_delay_s += configured.after_s
                alarm = Alarm(
                    id=f"{full_name}.{configured.type}",
                    tag=full_name,
                    type=configured.type,
                    priority=configured.priority,
                    message=configured.message
                    or default_message(configured, label, tag.unit),
                    area=area,
                    device=device.name,
                    rule=rule,
                    on_delay_s=on_delay_s,
                    off_delay_s=configured.off_delay_s,
                )
                catalog.add(alarm)
                inputs = getattr(rule, "inputs", (full_name,))
                if len(inputs) > 1:
                    watched.update(inputs)
                watch(alarm, inputs, configured.suppressed_by)
                if isinstance(rule, StaleRule):
                    catalog.tracks[full_name].stale_alarm = alarm
                if configured.type in FRESHNESS_TYPES:
                    by_device.setdefault(device.name, []).append(alarm)

    for rule in config.alarms.rules:
        if not rule.enabled:
            continue
        area = rule.area or _area_of_tag(config, rule.tag) or SITE_AREA
        areas.add(area)
        if rule.type == "expression":
            expression_rule = make_expression_rule(rule.expression, latest)
            alarm = Alarm(
                id=rule.name,
                tag=None,
                type=rule.type,
                priority=rule.priority,
                message=rule.message or rule.expression,
                area=area,
                rule=expression_rule,
                on_delay_s=rule.on_delay_s,
                off_delay_s=rule.off_delay_s,
            )
            catalog.add(alarm)
            watched.update(expression_rule.inputs)
            watch(alarm, expression_rule.inputs, rule.suppressed_by)
            continue

        if rule.type == "high_consumption":
            scheduled = HighConsumption(rule)
            message = (
                f"{rule.tag}: consumption over {rule.period_days:g} days above"
                f" {rule.max_ratio:g}x the same period a year earlier"
            )
        else:
            scheduled = MinNightFlow(rule, config.site.timezone)
            message = (
                f"{rule.tag}: minimum night flow above {rule.max_ratio:g}x its"
                " baseline (possible leak)"
            )
        alarm = Alarm(
            id=f"{rule.tag}.{rule.type}",
            tag=rule.tag,
            type=rule.type,
            priority=rule.priority,
            message=rule.message or message,
            area=area,
        )
        catalog.add(alarm)
        watch(alarm, (), rule.suppressed_by)
        if rule.tag not in known_tags:
            raise ConfigError(f"alarm {alarm.id}: unknown tag {rule.tag!r}")
        catalog.scheduled.append((alarm, scheduled))

    for alarm_id, message in SYSTEM_ALARMS.items():
        catalog.add(
            Alarm(
                id=alarm_id,
                tag=None,
                type=SYSTEM,
                priority="high",
                message=message,
                area=SITE_AREA,
            )
        )

    for area in sorted(areas):
        alarm = Alarm(
            id=f"{area}.{FLOOD}",
            tag=None,
            type=FLOOD,
            priority=config.alarms.flood_priority,
            message=f"Alarm flood in area {area}",
            area=area,
        )
        catalog.add(alarm)
        catalog.flood_alarms[area] = alarm

    # Freshness first: a sample after a silence clears the stale alarm before the
    # value alarms judge the new value.
    catalog.by_tag = {
        tag: tuple(sorted(alarms, key=lambda a: a.type not in FRESHNESS_TYPES))
        for tag, alarms in by_tag.items()
    }
    catalog.suppressed_by_tag = {
        tag: tuple(alarms) for tag, alarms in suppressed_by_tag.items()
    }
    catalog.by_device = {name: tuple(alarms) for name, alarms in by_device.items()}
    catalog.watched = frozenset(watched)
    return catalog


def _sample_interval_s(device) -> float:
    """Return the seconds between two samples of a device's tags."""
    # NOTE: an OPC UA subscription publishes only changes, so a tag whose value
    # stays constant sends no new sample and its stale alarm counts from the last
    # change. Give such tags an after_polls that covers their quiet periods.
    interval = device.poll_interval_s
    publishing_ms = getattr(device, "publishing_interval_ms", None)
    if publishing_ms is not None:
        interval = max(interval, publishing_ms / 1000.0)
    return interval


def _area_of_tag(config: Config, tag: str) -> str:
    for device in config.devices:
        for configured in device.tags:
            if f"{device.name}.{configured.name}" == tag:
                return configured.area or getattr(device, "area", "") or device.name
    return ""
