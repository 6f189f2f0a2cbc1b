"""Every component id of the dashboard.

Dash rejects ``.`` in string ids, but tag names (``PS1.discharge_pressure``) and alarm
ids (``PS1.discharge_pressure.high``) contain dots. Ids made from them replace each dot
with ``:``, which no device or tag name may contain, so the mapping is one to one:

    tag_cell("value", "PS1.discharge_pressure") == "value:PS1:discharge_pressure"
    alarm_cell("state", "PS1.comm_loss") == "alarm-state:PS1:comm_loss"

Rows also carry the original name in ``data-tag``, ``data-alarm`` or ``data-device``.
Acknowledge buttons use the pattern-matching id
``{"type": "ack", "alarm": <alarm id>}``.
"""

# Page skeleton.
PAGE = "page"
CONTENT = "content"
INTERVAL = "refresh-interval"
SITE_NAME = "site-name"
CLOCK = "site-clock"
STATUS_BANNER = "status-banner"
LINK_BANNER = "link-banner"
HISTORIAN = "historian-status"
LAST_GOOD_TICK = "last-good-tick"

# Sections filled by the refresh callback.
DEVICE_TILES = "device-tiles"
TAG_TABLE = "tag-table"
ALARM_LIST = "alarm-list"
ALARM_COUNT = "alarm-count"
ACK_RESULT = "ack-result"

# Trend.
TREND_TAG = "trend-tag"
TREND_GRAPH = "trend-graph"

ACK_TYPE = "ack"
TAG_FIELDS = ("row", "value", "quality", "age")
ALARM_FIELDS = ("row", "state", "value", "since")


def sanitise(name: str) -> str:
    return name.replace(".", ":")


def tag_cell(field: str, tag: str) -> str:
    if field not in TAG_FIELDS:
        raise ValueError(f"invalid tag field {field!r}: expected one of {TAG_FIELDS}")
    return f"{field}:{sanitise(tag)}"


def device_tile(device: str) -> str:
    return f"device:{device}"


def alarm_cell(field: str, alarm_id: str) -> str:
    if field not in ALARM_FIELDS:
        raise ValueError(
            f"invalid alarm field {field!r}: expected one of {ALARM_FIELDS}"
        )
    return f"alarm-{field}:{sanitise(alarm_id)}"


def ack_button(alarm_id: str) -> dict:
    return {"type": ACK_TYPE, "alarm": alarm_id}
