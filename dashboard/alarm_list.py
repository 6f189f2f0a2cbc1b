"""The alarm list: priority, ISA state and operator status of each alarm, with its
Acknowledge, Shelve, Unshelve and service buttons."""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.formatting import (
    MISSING,
    STATE_LABELS,
    UNACKNOWLEDGED_STATES,
    activation_time,
    format_time,
    format_value,
    is_hidden,
    operator_status,
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
                html.Th("Active since"),
                html.Th("Priority"),
                html.Th("Alarm"),
                html.Th("Message"),
                html.Th("Value", className="num"),
                html.Th("Limit", className="num"),
                html.Th("State"),
                html.Th("Status"),
                html.Th(""),
            ]
        )
    )
    rows = [_alarm_row(alarm, units, timezone) for alarm in alarms]
    return html.Table([header, html.Tbody(rows)], className="alarm-table")


ACTIVE_STATES = ("unack_active", "ack_active")


def count_unacknowledged(status: dict) -> int:
    return sum(
        1
        for alarm in status.get("alarms", [])
        if alarm.get("state") in UNACKNOWLEDGED_STATES and not is_hidden(alarm)
    )


def alarm_count(status: dict, include_hidden: bool, hidden_supported: bool) -> str:
    alarms = status.get("alarms", [])
    # An alarm returned to normal but not acknowledged counts as unacknowledged only.
    active = [a for a in alarms if a.get("state") in ACTIVE_STATES and not is_hidden(a)]
    text = f"{len(active)} active, {count_unacknowledged(status)} unacknowledged"
    if include_hidden and not hidden_supported:
        return text + ", hidden alarms not available from this runtime"
    if include_hidden:
        hidden = sum(1 for alarm in alarms if is_hidden(alarm))
        return text + f", {hidden} hidden"
    return text


def alarm_buttons(alarm: dict) -> list:
    """Return the buttons an alarm offers in its current state and status."""
    alarm_id = alarm["id"]
    status = alarm.get("status", alarm.get("state"))
    buttons = []
    if alarm.get("state") in UNACKNOWLEDGED_STATES and not is_hidden(alarm):
        buttons.append(
            html.Button(
                "Acknowledge", id=ids.ack_button(alarm_id), className="ack-button"
            )
        )
    elif alarm.get("acked_by"):
        buttons.append(html.Span(f"by {alarm['acked_by']}", className="acked-by"))

    if status == "shelved":
        buttons.append(_button("Unshelve", "unshelve", alarm_id))
    elif status != "out_of_service":
        buttons.append(_button("Shelve", "shelve", alarm_id))
    if status == "out_of_service":
        buttons.append(_button("Return to service", "return_to_service", alarm_id))
    else:
        buttons.append(_button("Out of service", "out_of_service", alarm_id))
    return buttons


def _button(label: str, action: str, alarm_id: str) -> html.Button:
    return html.Button(
        label,
        id=ids.action_button(action, alarm_id),
        className=f"action-button {action.replace('_', '-')}-button",
    )


def _alarm_row(alarm: dict, units: dict[str, str], timezone: str) -> html.Tr:
    alarm_id = alarm["id"]
    state = alarm.get("state", "")
    status = alarm.get("status", state)
    priority = alarm.get("priority", "")
    unit = units.get(alarm.get("tag") or "", "")

    value_text = format_value(alarm.get("value"), unit)
    if alarm.get("stale") and value_text != MISSING:
        value_text = f"{value_text} (stale)"
    classes = [f"alarm-row priority-{priority} state-{state}"]
    if status != state:
        classes.append(f"status-{status}")
    if alarm.get("stale"):
        classes.append("stale")

    limit = alarm.get("limit")
    return html.Tr(
        [
            html.Td(
                format_time(activation_time(alarm), timezone),
                id=ids.alarm_cell("since", alarm_id),
                title=f"last change {format_time(alarm.get('since'), timezone)}",
            ),
            html.Td(priority, className="priority"),
            html.Td(alarm_id, className="alarm-id"),
            html.Td(alarm.get("message", ""), className="alarm-message"),
            html.Td(
                value_text,
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
            html.Td(
                operator_status(alarm, timezone),
                id=ids.alarm_cell("status", alarm_id),
                className="alarm-status",
                **{"data-status": status},
            ),
            html.Td(alarm_buttons(alarm), className="alarm-buttons"),
        ],
        id=ids.alarm_cell("row", alarm_id),
        className=" ".join(classes),
        **{"data-alarm": alarm_id, "data-state": state, "data-status": status},
    )
