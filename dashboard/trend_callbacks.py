"""Dash callbacks of the trend tab: the chart from the trend cache, and CSV export."""

from __future__ import annotations

import time

from dash import Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.figures import trend_chart
from dashboard.params import ParameterError
from dashboard.trend_cache import TrendCache
from dashboard.formatting import format_duration
from dashboard.trend_data import (
    bucket_width,
    csv_filename,
    fetch_trend,
    plan_request,
    trend_csv,
)

# Seconds the first request of a trend form waits for its query before it shows
# "Loading"; later requests never wait.
FIRST_WAIT_S = 2.0
# Seconds a CSV export waits for its query.
EXPORT_WAIT_S = 30.0
# Maximum age, in seconds, of a bucketed trend before it is queried again.
BAND_MAX_AGE_S = 60.0


def register_trend_callbacks(app, view) -> TrendCache:
    config = view.config
    timezone = config.site.timezone
    refresh_s = config.dashboard.refresh_interval_s
    units = {
        f"{device.name}.{tag.name}": tag.unit
        for device in config.devices
        for tag in device.tags
    }

    def fetch(key):
        tags, range_key, custom_from, custom_to = key
        request = plan_request(
            tags, range_key, custom_from, custom_to, timezone, time.time()
        )
        return fetch_trend(view, request)

    cache = TrendCache(fetch)

    def lookup(tags, range_key, custom_from, custom_to, wait_s):
        """Return the cache entry of the form; raise ParameterError for a bad form."""
        request = plan_request(
            tags, range_key, custom_from, custom_to, timezone, time.time()
        )
        if request.every_s is None:
            max_age_s = refresh_s
        else:
            max_age_s = min(float(request.every_s), BAND_MAX_AGE_S)
        key = (request.tags, range_key, custom_from or "", custom_to or "")
        return cache.get(key, max_age_s, wait_s)

    @app.callback(
        Output(ids.TREND_GRAPH, "figure"),
        Output(ids.TREND_NOTE, "children"),
        Output(ids.TREND_VERSION, "data"),
        Input(ids.INTERVAL, "n_intervals"),
        Input(ids.TABS, "value"),
        Input(ids.TREND_TAG, "value"),
        Input(ids.TREND_RANGE, "value"),
        Input(ids.TREND_FROM, "value"),
        Input(ids.TREND_TO, "value"),
        State(ids.TREND_VERSION, "data"),
    )
    def trend(_tick, tab, tags, range_key, custom_from, custom_to, shown):
        if tab != ids.TAB_TRENDS:
            raise PreventUpdate
        try:
            entry = lookup(tags, range_key, custom_from, custom_to, FIRST_WAIT_S)
        except ParameterError as error:
            return no_update, str(error), None

        version = [list(tags), range_key, custom_from, custom_to, entry.version]
        if version == shown:
            raise PreventUpdate
        if entry.error is not None:
            return no_update, f"History unavailable: {entry.error}", version
        data = entry.data
        if data is None:
            return no_update, "Loading history…", shown

        request = data.request
        figure = trend_chart(
            list(request.tags),
            data.raw,
            data.bands,
            units,
            timezone,
            time.time(),
            request.start,
            request.end,
        )
        return figure, trend_note(data), version

    @app.callback(
        Output(ids.TREND_DOWNLOAD, "data"),
        Output(ids.TREND_NOTE, "children", allow_duplicate=True),
        Input(ids.TREND_CSV_BUTTON, "n_clicks"),
        State(ids.TREND_TAG, "value"),
        State(ids.TREND_RANGE, "value"),
        State(ids.TREND_FROM, "value"),
        State(ids.TREND_TO, "value"),
        prevent_initial_call=True,
    )
    def export_csv(clicks, tags, range_key, custom_from, custom_to):
        if not clicks:
            raise PreventUpdate
        try:
            entry = lookup(tags, range_key, custom_from, custom_to, EXPORT_WAIT_S)
        except ParameterError as error:
            return no_update, str(error)
        if entry.data is None:
            reason = entry.error or "the history query is still running"
            return no_update, f"CSV export failed: {reason}"
        data = entry.data
        return (
            dcc.send_string(trend_csv(data, timezone), csv_filename(data, timezone)),
            no_update,
        )

    return cache


def trend_note(data) -> str:
    """Say how the chart shows its tags: raw samples or min/mean/max buckets."""
    if not data.bands:
        return "Raw samples"
    width = format_duration(bucket_width(data.request.end - data.request.start))
    note = f"Line: mean per {width}; shaded band: min to max per {width}"
    if data.raw:
        note += f"; raw samples for {', '.join(data.raw)}"
    return note
