"""Dash callbacks: read the runtime view once per refresh and render the page."""

from __future__ import annotations

import logging
import time

from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.alarm_list import count_unacknowledged, render_alarm_list
from dashboard.figures import trend_figure
from dashboard.formatting import format_clock
from dashboard.overview import render_device_tiles, render_tag_table

logger = logging.getLogger(__name__)

# NOTE: there is no login yet, so every acknowledgement is recorded as this user.
ACK_USER = "operator"

# Refresh ticks without a server response before the page shows the link as lost.
LINK_LOST_TICKS = 3

LINK_CHECK_JS = """
function(tick, lastGoodTick) {
    const lost = (tick || 0) - (lastGoodTick || 0) > %d;
    return [!lost, lost ? "page link-lost" : "page"];
}
""" % LINK_LOST_TICKS


class _FailureLog:
    """Logs the first failure of a repeated call and the recovery, not each repeat."""

    def __init__(self, what: str):
        self.what = what
        self.failing = False

    def failed(self, error: Exception) -> None:
        if not self.failing:
            logger.error("Dashboard cannot read %s: %s", self.what, error)
        self.failing = True

    def succeeded(self) -> None:
        if self.failing:
            logger.info("Dashboard reads %s again", self.what)
        self.failing = False


def register_callbacks(app, view) -> None:
    config = view.config
    timezone = config.site.timezone
    window_s = config.dashboard.trend_window_s
    units = {
        f"{device.name}.{tag.name}": tag.unit
        for device in config.devices
        for tag in device.tags
    }
    status_log = _FailureLog("the runtime status")
    history_log = _FailureLog("the history")

    @app.callback(
        Output(ids.CLOCK, "children"),
        Output(ids.STATUS_BANNER, "children"),
        Output(ids.STATUS_BANNER, "hidden"),
        Output(ids.CONTENT, "className"),
        Output(ids.DEVICE_TILES, "children"),
        Output(ids.TAG_TABLE, "children"),
        Output(ids.ALARM_LIST, "children"),
        Output(ids.ALARM_COUNT, "children"),
        Output(ids.HISTORIAN, "children"),
        Output(ids.LAST_GOOD_TICK, "data"),
        Input(ids.INTERVAL, "n_intervals"),
    )
    def refresh(tick):
        tick = tick or 0
        try:
            status = view.status()
        except Exception as error:  # noqa: BLE001 - any failure is shown, not raised
            status_log.failed(error)
            banner = f"Status unavailable, values below are not current: {error}"
            clock = format_clock(time.time(), timezone)
            return (clock, banner, False, "content stale-all",
                    *([no_update] * 5), tick)
        status_log.succeeded()

        now = status.get("time") or time.time()
        return (
            format_clock(now, timezone),
            "",
            True,
            "content",
            render_device_tiles(status.get("devices", []), timezone, now),
            render_tag_table(status),
            render_alarm_list(status, timezone),
            _alarm_count(status),
            _historian_line(status.get("historian")),
            tick,
        )

    app.clientside_callback(
        LINK_CHECK_JS,
        Output(ids.LINK_BANNER, "hidden"),
        Output(ids.PAGE, "className"),
        Input(ids.INTERVAL, "n_intervals"),
        State(ids.LAST_GOOD_TICK, "data"),
    )

    @app.callback(
        Output(ids.ACK_RESULT, "children"),
        Output(ids.ALARM_LIST, "children", allow_duplicate=True),
        Output(ids.ALARM_COUNT, "children", allow_duplicate=True),
        Input({"type": ids.ACK_TYPE, "alarm": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def acknowledge(_clicks):
        # Re-rendered buttons also fire this callback, with n_clicks still None.
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        alarm_id = ctx.triggered_id["alarm"]

        message = _acknowledge(view, alarm_id)
        try:
            status = view.status()
        except Exception as error:  # noqa: BLE001 - the next refresh shows the banner
            status_log.failed(error)
            return message, no_update, no_update
        return message, render_alarm_list(status, timezone), _alarm_count(status)

    @app.callback(
        Output(ids.TREND_GRAPH, "figure"),
        Input(ids.INTERVAL, "n_intervals"),
        Input(ids.TREND_TAG, "value"),
    )
    def trend(_tick, tag):
        if not tag:
            raise PreventUpdate
        now = time.time()
        try:
            points = view.history(tag, now - window_s, now)
        except Exception as error:  # noqa: BLE001 - shown as an empty trend
            history_log.failed(error)
            points = []
        else:
            history_log.succeeded()
        return trend_figure(points, tag, units.get(tag, ""), timezone, now, window_s)


def _acknowledge(view, alarm_id: str) -> str:
    try:
        result = view.acknowledge(alarm_id, ACK_USER)
    except Exception as error:  # noqa: BLE001 - reported to the operator
        logger.error("Acknowledge of alarm %s failed: %s", alarm_id, error)
        return f"Acknowledge of {alarm_id} failed: {error}"

    if result.get("ok"):
        logger.info("Alarm %s acknowledged by %s", alarm_id, ACK_USER)
        return f"{alarm_id} acknowledged by {ACK_USER}, now {result.get('state')}"
    error = result.get("error")
    logger.warning("Acknowledge of alarm %s rejected: %s", alarm_id, error)
    return f"Acknowledge of {alarm_id} rejected: {error}"


def _alarm_count(status: dict) -> str:
    active = len([a for a in status.get("alarms", []) if a.get("state") != "normal"])
    return f"{active} active, {count_unacknowledged(status)} unacknowledged"


def _historian_line(historian: dict | None) -> str:
    if not historian:
        return ""
    line = (
        f"Historian {historian.get('backend', '')}: {historian.get('written', 0)}"
        f" written, backlog {historian.get('backlog', 0)},"
        f" errors {historian.get('errors', 0)}"
    )
    if historian.get("last_error"):
        line += f" (last: {historian['last_error']})"
    return line
