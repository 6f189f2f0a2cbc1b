"""Test configuration for the alarm tests."""

from __future__ import annotations

from vigie.config import Config


def make_config(
    alarms_by_tag: dict[str, list[dict]],
    data_dir: str = "data",
    site_alarms: dict | None = None,
    poll_interval_s: float = 1.0,
    timezone: str = "UTC",
    tag_type: str = "int16",
) -> Config:
    """Build a config with device PS1 holding one tag per key, plus device PS2.

    PS1 also gets a tag ``flow`` without alarms. PS2 has no alarms and a critical
    communication-loss priority. ``site_alarms`` is the top-level alarms section.
    """
    tags = [
        {
            "name": name,
            "address": index * 2,
            "type": tag_type,
            "unit": "bar",
            "alarms": alarms,
        }
        for index, (name, alarms) in enumerate(alarms_by_tag.items())
    ]
    tags.append({"name": "flow", "address": 100, "type": "int16"})
    return Config.model_validate(
        {
            "data_dir": data_dir,
            "site": {"timezone": timezone},
            "alarms": site_alarms or {},
            "devices": [
                {
                    "name": "PS1",
                    "protocol": "modbus_tcp",
                    "poll_interval_s": poll_interval_s,
                    "tags": tags,
                },
                {
                    "name": "PS2",
                    "protocol": "modbus_tcp",
                    "comm_alarm_priority": "critical",
                    "tags": [{"name": "level", "address": 0}],
                },
            ],
        }
    )
