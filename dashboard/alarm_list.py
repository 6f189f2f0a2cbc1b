"""The active alarm list with one Acknowledge button per unacknowledged alarm."""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.formatting import (
    MISSING,
    STATE_LABELS,
    UNACKNOWLEDGED_STATES,
    format_time,
    format_value,
    sort_alarms,
)


def render_alarm_list(status: dict, timezone: str) -> html.Div:
    alarms = sort_alarms(status.get("alarms", []))
    if not alarms:
        return html.Div("No active alarms", className="no-alarms")

    units = {tag["name"]: tag.get("unit", "") for tag in status.get("tags", [])}
    header = html.Thead(
        html.Tr(
            [
                html.Th("Since"),
                html.Th("Priority"),
                html.Th("Alarm"),
                html.Th("Message"),
                html.Th("Value", className="num"),
                html.Th("Limit", className="num"),
                html.Th("State"),
                html.Th(""),
            ]
        )
    )
    rows = [_alarm_row(alarm, units, timezone) for alarm in alarms]
    return html.Table([header, html.Tbody(rows)], className="alarm-table")


def count_unacknowledged(status: dict) -> int:
    return sum(
        1 for alarm in status.get("alarms", [])
        if alarm.get("state") in UNACKNOWLEDGED_STATES
    )


def _alarm_row(alarm: dict, units: dict[str, str], timezone: str) -> html.Tr:
    alarm_id = alarm["id"]
    state = alarm.get("state", "")
    priority = alarm.get("priority", "")
    unit = units.get(alarm.get("tag") or "", "")

    if state in UNACKNOWLEDGED_STATES:
        action = html.Button(
            "Acknowledge", id=ids.ack_button(alarm_id), className="ack-button"
        )
    else:
        acked_by = alarm.get("acked_by") or ""
        action = html.Span(f"by {acked_by}" if acked_by else "", className="acked-by")

    limit = alarm.get("limit")
    return html.Tr(
        [
            html.Td(
                format_time(alarm.get("since"), timezone),
                id=ids.alarm_cell("since", alarm_id),
            ),
            html.Td(priority, className="priority"),
            html.Td(alarm_id, className="alarm-id"),
            html.Td(alarm.get("message", ""), className="alarm-message"),
            html.Td(
                format_value(alarm.get("value"), unit),
                id=ids.alarm_cell("value", alarm_id),
                className="num",
            ),
            html.Td(
                MISSING if limit is None else format_value(limit, unit),
                className="num",
            ),
            html.Td(
                STATE_LABELS.get(state, state),
                id=ids.alarm_cell("state", alarm_id),
                className="alarm-state",
                **{"data-state": state},
            ),
            html.Td(action),
        ],
        id=ids.alarm_cell("row", alarm_id),
        className=f"alarm-row priority-{priority} state-{state}",
        **{"data-alarm": alarm_id, "data-state": state},
    )
