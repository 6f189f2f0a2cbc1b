"""Configured facts about each alarm and the roster area that handles it."""

from __future__ import annotations

from dataclasses import dataclass

from vigie.config import Config
from vigie.config.notifications import Roster

COMM_LOSS = "comm_loss"
FLOOD = "flood"


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    """The configured facts behind an alarm id, used to word its messages."""

    alarm_id: str
    device: str
    tag: str | None
    type: str
    unit: str
    limit: float | None
    # Set on the tag's alarm entry when the alarm engine offers the flag.
    notify_subscriber: bool = False


class Catalog:
    """Alarm facts from the config, and the area and roster of every alarm id."""

    def __init__(self, config: Config) -> None:
        self._alarms: dict[str, AlarmInfo] = {}
        for device in config.devices:
            comm_id = f"{device.name}.{COMM_LOSS}"
            self._alarms[comm_id] = AlarmInfo(
                comm_id, device.name, None, COMM_LOSS, "", None
            )
            for tag in device.tags:
                full_name = f"{device.name}.{tag.name}"
                for alarm in tag.alarms:
                    alarm_id = f"{full_name}.{alarm.type}"
                    self._alarms[alarm_id] = AlarmInfo(
                        alarm_id=alarm_id,
                        device=device.name,
                        tag=full_name,
                        type=alarm.type,
                        unit=tag.unit,
                        limit=getattr(alarm, "limit", None),
                        notify_subscriber=bool(
                            getattr(alarm, "notify_subscriber", False)
                        ),
                    )

        units = {
            f"{device.name}.{tag.name}": tag.unit
            for device in config.devices
            for tag in device.tags
        }
        # Rules over history, such as high_consumption, have the id <tag>.<type>.
        for rule in getattr(config.alarms, "rules", ()):
            tag = getattr(rule, "tag", "")
            if not tag:
                continue
            alarm_id = f"{tag}.{rule.type}"
            self._alarms[alarm_id] = AlarmInfo(
                alarm_id=alarm_id,
                device=tag.split(".")[0],
                tag=tag,
                type=rule.type,
                unit=units.get(tag, ""),
                limit=None,
                notify_subscriber=bool(getattr(rule, "notify_subscriber", False)),
            )

        rosters = config.notifications.rosters
        self.rosters: dict[str, Roster] = {roster.area: roster for roster in rosters}
        self._area_of_device = {
            device: roster.area for roster in rosters for device in roster.devices
        }
        self._catch_all = next((r.area for r in rosters if not r.devices), None)

    def info(self, alarm_id: str) -> AlarmInfo:
        """Return the alarm's facts; an unconfigured id gets a minimal record.

        In an unconfigured id ``<device>.<tag>.<type>`` the tag is still known.
        """
        known = self._alarms.get(alarm_id)
        if known is not None:
            return known
        prefix, _, kind = alarm_id.rpartition(".")
        tag = prefix if "." in prefix else None
        return AlarmInfo(alarm_id, prefix.split(".")[0], tag, kind, "", None)

    def area_of(self, alarm_id: str, engine_area: str = "") -> str | None:
        """Return the area whose roster handles ``alarm_id``, or None.

        The engine's area of the alarm wins when a roster has that name. Else
        the first part of the id decides: a device listed by a roster, or an
        area name for the area's flood alarm ``<area>.flood``. Anything else
        goes to the roster without devices, if there is one.
        """
        if engine_area in self.rosters:
            return engine_area
        first = alarm_id.split(".", 1)[0]
        if alarm_id == f"{first}.{FLOOD}" and first in self.rosters:
            return first
        return self._area_of_device.get(first, self._catch_all)

    @staticmethod
    def flood_area(alarm_id: str) -> str | None:
        """Return the area of a flood alarm id ``<area>.flood``, else None."""
        area, _, kind = alarm_id.partition(".")
        if kind == FLOOD:
            return area
        return None
