"""Every component id of the dashboard.

Dash rejects ``.`` in string ids, but tag names (``PS1.discharge_pressure``) and alarm
ids (``PS1.discharge_pressure.high``) contain dots. Ids made from them replace each dot
with ``:``, which no device or tag name may contain, so the mapping is one to one:

    tag_cell("value", "PS1.discharge_pressure") == "value:PS1:discharge_pressure"
    alarm_cell("state", "PS1.comm_loss") == "alarm-state:PS1:comm_loss"

Rows also carry the original name in ``data-tag``, ``data-alarm`` or ``data-device``.
Acknowledge buttons use the pattern-matching id
``{"type": "ack", "alarm": <alarm id>}`` and the other alarm buttons
``{"type": "alarm-action", "action": <action>, "alarm": <alarm id>}``.
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

# Tabs, and the section each one shows.
TABS = "tabs"
TAB_OVERVIEW = "overview"
TAB_TRENDS = "trends"
TAB_ALARM_SYSTEM = "alarm-system"
TAB_DEVICES = "devices"
TAB_NAMES = (TAB_OVERVIEW, TAB_TRENDS, TAB_ALARM_SYSTEM, TAB_DEVICES)

# Alarm list controls and the panel that requests a shelve or service reason.
SHOW_HIDDEN = "show-hidden"
ACTION_PANEL = "action-panel"
ACTION_TITLE = "action-title"
ACTION_TARGET = "action-target"
SHELVE_DURATION = "shelve-duration"
ACTION_REASON = "action-reason"
ACTION_CONFIRM = "action-confirm"
ACTION_CANCEL = "action-cancel"

# Devices tab.
HISTORIAN_HEALTH = "historian-health"

# Trend.
TREND_TAG = "trend-tag"
TREND_GRAPH = "trend-graph"
TREND_RANGE = "trend-range"
TREND_FROM = "trend-from"
TREND_TO = "trend-to"
TREND_NOTE = "trend-note"
TREND_VERSION = "trend-version"
TREND_CSV_BUTTON = "trend-csv-button"
TREND_DOWNLOAD = "trend-download"

# Alarm-system tab.
REPORT_RANGE = "report-range"
REPORT = "alarm-report"
NOTIFICATION_LOG = "notification-log"
REPORT_INTERVAL = "report-interval"

ACK_TYPE = "ack"
ACTION_TYPE = "alarm-action"
ACTIONS = ("shelve", "unshelve", "out_of_service", "return_to_service")
TAG_FIELDS = ("row", "value", "quality", "age")
ALARM_FIELDS = ("row", "state", "status", "value", "since")


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


def section(name: str) -> str:
    if name not in TAB_NAMES:
        raise ValueError(f"invalid tab {name!r}: expected one of {TAB_NAMES}")
    return f"section-{name}"


def action_button(action: str, alarm_id: str) -> dict:
    if action not in ACTIONS:
        raise ValueError(f"invalid alarm action {action!r}: expected one of {ACTIONS}")
    return {"type": ACTION_TYPE, "action": action, "alarm": alarm_id}


def tab(name: str) -> str:
    if name not in TAB_NAMES:
        raise ValueError(f"invalid tab {name!r}: expected one of {TAB_NAMES}")
    return f"tab-{name}"
