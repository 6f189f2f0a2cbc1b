"""Dash callbacks of the live view: one status read per refresh fills the page."""

from __future__ import annotations

import inspect
import logging
import threading
import time

from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.alarm_callbacks import register_alarm_callbacks
from dashboard.alarm_list import alarm_count, render_alarm_list
from dashboard.devices import render_device_tiles, render_historian
from dashboard.formatting import format_clock
from dashboard.overview import render_tag_table
from dashboard.report_view import REPORT_RANGES_S, render_notifications, render_report
from dashboard.trend_callbacks import register_trend_callbacks

logger = logging.getLogger(__name__)

# Refresh ticks without a server response before the page shows the link as lost.
LINK_LOST_TICKS = 3
NOTIFICATION_LOG_S = 86400.0

LINK_CHECK_JS = (
    """
function(tick, lastGoodTick) {
    const lost = (tick || 0) - (lastGoodTick || 0) > %d;
    return [!lost, lost ? "page link-lost" : "page"];
}
"""
    % LINK_LOST_TICKS
)

# Hides every section but the one of the chosen tab.
TAB_JS = """
function(tab) {
    return %s.map(name => name !== tab);
}
""" % list(ids.TAB_NAMES)


class FailureLog:
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


class StatusReader:
    """Reads the view's status, with hidden alarms when asked and supported."""

    def __init__(self, view):
        self.view = view
        self.log = FailureLog("the runtime status")
        # NOTE: RuntimeView.status() lists only the alarms the operator sees; a view
        # whose status() takes include_hidden also lists shelved, suppressed and
        # out-of-service alarms.
        parameters = inspect.signature(view.status).parameters
        self.hidden_supported = "include_hidden" in parameters

    def read(self, include_hidden: bool = False) -> dict:
        if include_hidden and self.hidden_supported:
            return self.view.status(include_hidden=True)
        return self.view.status()


def register_callbacks(app, view) -> None:
    timezone = view.config.site.timezone
    reader = StatusReader(view)

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
        Output(ids.HISTORIAN_HEALTH, "children"),
        Output(ids.LAST_GOOD_TICK, "data"),
        Input(ids.INTERVAL, "n_intervals"),
        Input(ids.SHOW_HIDDEN, "value"),
    )
    def refresh(tick, show_hidden):
        tick = tick or 0
        include_hidden = bool(show_hidden)
        try:
            status = reader.read(include_hidden)
        except Exception as error:  # noqa: BLE001 - any failure is shown, not raised
            reader.log.failed(error)
            banner = f"Status unavailable, values below are not current: {error}"
            clock = format_clock(time.time(), timezone)
            return (clock, banner, False, "content stale-all", *([no_update] * 6), tick)
        reader.log.succeeded()

        now = status.get("time") or time.time()
        return (
            format_clock(now, timezone),
            "",
            True,
            "content",
            render_device_tiles(status.get("devices", []), timezone, now),
            render_tag_table(status),
            render_alarm_list(status, timezone),
            alarm_count(status, include_hidden, reader.hidden_supported),
            historian_line(status.get("historian")),
            render_historian(status.get("historian")),
            tick,
        )

    app.clientside_callback(
        LINK_CHECK_JS,
        Output(ids.LINK_BANNER, "hidden"),
        Output(ids.PAGE, "className"),
        Input(ids.INTERVAL, "n_intervals"),
        State(ids.LAST_GOOD_TICK, "data"),
    )
    app.clientside_callback(
        TAB_JS,
        *[Output(ids.section(name), "hidden") for name in ids.TAB_NAMES],
        Input(ids.TABS, "value"),
    )

    register_alarm_callbacks(app, view, reader)
    register_trend_callbacks(app, view)
    _register_report_callback(app, view)


def _register_report_callback(app, view) -> None:
    timezone = view.config.site.timezone
    report_log = FailureLog("the alarm report")
    # One report query at a time: a refresh that finds one running is skipped.
    busy = threading.Lock()

    @app.callback(
        Output(ids.REPORT, "children"),
        Output(ids.NOTIFICATION_LOG, "children"),
        Input(ids.TABS, "value"),
        Input(ids.REPORT_RANGE, "value"),
        Input(ids.REPORT_INTERVAL, "n_intervals"),
    )
    def report(tab, range_key, _tick):
        if tab != ids.TAB_ALARM_SYSTEM:
            raise PreventUpdate
        if not busy.acquire(blocking=False):
            raise PreventUpdate
        try:
            now = time.time()
            span_s = REPORT_RANGES_S.get(range_key, REPORT_RANGES_S["24h"])
            document = view.alarm_report(now - span_s, now)
            entries = view.notification_log(now - NOTIFICATION_LOG_S, now)
        except Exception as error:  # noqa: BLE001 - shown on the page
            report_log.failed(error)
            return f"Alarm report unavailable: {error}", no_update
        finally:
            busy.release()
        report_log.succeeded()
        return render_report(document, timezone), render_notifications(
            entries, timezone
        )


def historian_line(historian: dict | None) -> str:
    if not historian:
        return ""
    line = (
        f"Historian {historian.get('backend', '')}: {historian.get('written', 0)}"
        f" written, backlog {historian.get('backlog', 0)},"
        f" errors {historian.get('errors', 0)}"
    )
    if historian.get("unreachable"):
        line += ", UNREACHABLE"
    if historian.get("last_error"):
        line += f" (last: {historian['last_error']})"
    return line
