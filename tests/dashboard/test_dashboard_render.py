"""Rendered component trees of the overview and the alarm list, without a browser."""

from dashboard import ids
from dashboard.alarm_actions import run_action
from dashboard.alarm_list import render_alarm_list
from dashboard.devices import render_device_tiles
from dashboard.layout import default_trend_tag, trend_options
from dashboard.overview import render_tag_table

from tests.dashboard.scripted_view import (
    COMM_ALARM,
    HIGH_ALARM,
    PRESSURE,
    SITE_TIMEZONE,
)


def find(component, component_id):
    """Return the component with ``component_id`` in a Dash tree, or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    if children is None or isinstance(children, str):
        return None
    if not isinstance(children, (list, tuple)):
        children = [children]
    for child in children:
        found = find(child, component_id)
        if found is not None:
            return found
    return None


def test_tag_row_shows_value_and_quality(view):
    status = view.status()
    table = render_tag_table(status)

    row = find(table, ids.tag_cell("row", PRESSURE))
    assert row.className == "tag-row quality-good"
    assert getattr(row, "data-tag") == PRESSURE
    assert getattr(row, "data-stale") == "false"
    assert find(table, ids.tag_cell("value", PRESSURE)).children == "6.61 bar"
    assert find(table, ids.tag_cell("quality", PRESSURE)).children == "good"
    assert find(table, ids.tag_cell("age", PRESSURE)).children == "0.5 s"
    assert find(table, ids.tag_cell("value", "PS1.pump1_running")).children == "ON"


def test_bad_tag_marked_stale(view):
    table = render_tag_table(view.status())

    row = find(table, ids.tag_cell("row", "WTP1.turbidity"))
    assert row.className == "tag-row quality-bad stale"
    assert getattr(row, "data-stale") == "true"
    assert find(table, ids.tag_cell("value", "WTP1.turbidity")).children == "—"
    quality = find(table, ids.tag_cell("quality", "WTP1.turbidity"))
    assert quality.children == "bad: comm_failure"


def test_stale_value_never_plain(view):
    status = view.status()
    status["tags"][1].update(stale=True, quality="uncertain", reason="stale")

    table = render_tag_table(status)

    row = find(table, ids.tag_cell("row", PRESSURE))
    assert row.className == "tag-row quality-uncertain stale"
    assert find(table, ids.tag_cell("value", PRESSURE)).children == "6.61 bar (stale)"


def test_tags_grouped_by_device(view):
    table = render_tag_table(view.status())
    body = table.children[1].children

    groups = [getattr(row, "data-device", None) for row in body]
    tags = [getattr(row, "data-tag", None) for row in body]
    assert groups == ["PS1", None, None, "WTP1", None]
    assert tags == [None, "PS1.pump1_running", PRESSURE, None, "WTP1.turbidity"]


def test_device_tiles_show_connection(view):
    status = view.status()
    tiles = render_device_tiles(status["devices"], SITE_TIMEZONE, status["time"])

    assert [tile.id for tile in tiles] == ["device:PS1", "device:WTP1"]
    assert tiles[0].className == "device-tile connected state-connected"
    assert tiles[1].className == "device-tile not-connected state-disconnected"
    texts = [line.children for line in tiles[1].children[1:]]
    assert texts == [
        "opcua",
        "Last good poll: never",
        "Polls 0, errors 4, reconnects 4, skipped 0, samples 0",
        "Last error: connection refused",
        "clock_skew 2",
    ]


def test_alarm_rows_and_ack_buttons(view):
    view.status()
    view.acknowledge(COMM_ALARM, "operator")
    listing = render_alarm_list(view.status(), SITE_TIMEZONE)

    rows = listing.children[1].children
    # Both are high priority, so the older one comes first.
    assert [getattr(row, "data-alarm") for row in rows] == [HIGH_ALARM, COMM_ALARM]
    assert rows[0].className == "alarm-row priority-high state-unack_active"
    assert find(listing, ids.alarm_cell("state", HIGH_ALARM)).children == (
        "Active, unacknowledged"
    )
    assert find(listing, ids.alarm_cell("value", HIGH_ALARM)).children == "6.61 bar"
    assert find(listing, ids.ack_button(HIGH_ALARM)).children == "Acknowledge"
    assert find(listing, ids.ack_button(COMM_ALARM)) is None
    assert find(listing, ids.alarm_cell("value", COMM_ALARM)).children == "—"


def test_no_alarms_message(view):
    status = view.status()
    status["alarms"] = []
    assert render_alarm_list(status, SITE_TIMEZONE).children == "No active alarms"


def test_trend_tags_from_config(config):
    values = [option["value"] for option in trend_options(config)]

    assert values == ["PS1.pump1_running", PRESSURE, "WTP1.turbidity"]
    assert default_trend_tag(config) == PRESSURE


def test_acknowledge_result_messages(view):
    view.status()
    accepted = run_action(view, "acknowledge", HIGH_ALARM)
    rejected = run_action(view, "acknowledge", HIGH_ALARM)
    unknown = run_action(view, "acknowledge", "PS1.nothing.high")

    assert accepted == f"{HIGH_ALARM} acknowledged by operator, now ack_active"
    assert rejected == (
        f"Acknowledge of {HIGH_ALARM} rejected: alarm '{HIGH_ALARM}' needs no"
        " acknowledgement"
    )
    assert unknown == (
        "Acknowledge of PS1.nothing.high rejected: unknown alarm 'PS1.nothing.high'"
    )
    assert view.ack_calls == [
        (HIGH_ALARM, "operator"),
        (HIGH_ALARM, "operator"),
        ("PS1.nothing.high", "operator"),
    ]
