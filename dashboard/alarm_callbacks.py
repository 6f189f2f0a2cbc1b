"""Dash callbacks of the alarm buttons and of the shelve and service reason panel."""

from __future__ import annotations

from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.alarm_actions import ACTION_NAMES, ACTIONS_WITH_REASON, run_action
from dashboard.alarm_list import alarm_count, render_alarm_list


def register_alarm_callbacks(app, view, reader) -> None:
    timezone = view.config.site.timezone

    def redraw(show_hidden) -> tuple:
        """Return the alarm list and count after an action, from one status read."""
        include_hidden = bool(show_hidden)
        try:
            status = reader.read(include_hidden)
        except Exception as error:  # noqa: BLE001 - the next refresh shows the banner
            reader.log.failed(error)
            return no_update, no_update
        return (
            render_alarm_list(status, timezone),
            alarm_count(status, include_hidden, reader.hidden_supported),
        )

    @app.callback(
        Output(ids.ACK_RESULT, "children"),
        Output(ids.ALARM_LIST, "children", allow_duplicate=True),
        Output(ids.ALARM_COUNT, "children", allow_duplicate=True),
        Input({"type": ids.ACK_TYPE, "alarm": ALL}, "n_clicks"),
        State(ids.SHOW_HIDDEN, "value"),
        prevent_initial_call=True,
    )
    def acknowledge(_clicks, show_hidden):
        alarm_id = _clicked_alarm()
        message = run_action(view, "acknowledge", alarm_id)
        return (message, *redraw(show_hidden))

    @app.callback(
        Output(ids.ACK_RESULT, "children", allow_duplicate=True),
        Output(ids.ALARM_LIST, "children", allow_duplicate=True),
        Output(ids.ALARM_COUNT, "children", allow_duplicate=True),
        Output(ids.ACTION_TARGET, "data"),
        Output(ids.ACTION_PANEL, "hidden"),
        Output(ids.ACTION_TITLE, "children"),
        Output(ids.SHELVE_DURATION, "style"),
        Output(ids.ACTION_REASON, "value"),
        Input({"type": ids.ACTION_TYPE, "action": ALL, "alarm": ALL}, "n_clicks"),
        State(ids.SHOW_HIDDEN, "value"),
        prevent_initial_call=True,
    )
    def alarm_button(_clicks, show_hidden):
        alarm_id = _clicked_alarm()
        action = ctx.triggered_id["action"]
        if action in ACTIONS_WITH_REASON:
            title = f"{ACTION_NAMES[action]} {alarm_id}"
            duration_style = {} if action == "shelve" else {"display": "none"}
            target = {"action": action, "alarm": alarm_id}
            return (
                no_update,
                no_update,
                no_update,
                target,
                False,
                title,
                duration_style,
                "",
            )

        message = run_action(view, action, alarm_id)
        return (message, *redraw(show_hidden), None, True, "", no_update, no_update)

    @app.callback(
        Output(ids.ACK_RESULT, "children", allow_duplicate=True),
        Output(ids.ALARM_LIST, "children", allow_duplicate=True),
        Output(ids.ALARM_COUNT, "children", allow_duplicate=True),
        Output(ids.ACTION_TARGET, "data", allow_duplicate=True),
        Output(ids.ACTION_PANEL, "hidden", allow_duplicate=True),
        Input(ids.ACTION_CONFIRM, "n_clicks"),
        State(ids.ACTION_TARGET, "data"),
        State(ids.SHELVE_DURATION, "value"),
        State(ids.ACTION_REASON, "value"),
        State(ids.SHOW_HIDDEN, "value"),
        prevent_initial_call=True,
    )
    def confirm(_clicks, target, duration_s, reason, show_hidden):
        if not target:
            raise PreventUpdate
        action, alarm_id = target["action"], target["alarm"]
        reason = (reason or "").strip()
        if not reason:
            # The panel stays open, so the operator can type the reason.
            message = run_action(view, action, alarm_id, reason)
            return message, no_update, no_update, no_update, False

        message = run_action(view, action, alarm_id, reason, duration_s)
        return (message, *redraw(show_hidden), None, True)

    @app.callback(
        Output(ids.ACTION_TARGET, "data", allow_duplicate=True),
        Output(ids.ACTION_PANEL, "hidden", allow_duplicate=True),
        Input(ids.ACTION_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def cancel(_clicks):
        return None, True


def _clicked_alarm() -> str:
    # Re-rendered buttons also fire these callbacks, with n_clicks still None.
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return ctx.triggered_id["alarm"]
