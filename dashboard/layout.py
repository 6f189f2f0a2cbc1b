"""The static page skeleton, built once from the configuration."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.alarm_actions import SHELVE_DURATIONS_S
from dashboard.formatting import format_duration
from dashboard.trend_data import MAX_TREND_TAGS, RANGE_LABELS
from vigie.config import Config, ModbusTag

NON_NUMERIC_TYPES = ("string",)

TAB_LABELS = {
    ids.TAB_OVERVIEW: "Alarms and values",
    ids.TAB_TRENDS: "Trends",
    ids.TAB_ALARM_SYSTEM: "Alarm system",
    ids.TAB_DEVICES: "Devices",
}

# Milliseconds between refreshes of the alarm-system page while it is open.
REPORT_REFRESH_MS = 60_000


def is_analog(tag) -> bool:
    if isinstance(tag, ModbusTag):
        return tag.type not in ("bool", "string")
    # NOTE: OPC UA tags carry no data type in the configuration, so a tag with a unit
    # is taken as analog and one without as discrete.
    return bool(tag.unit)


def trend_options(config: Config) -> list[dict]:
    """List the tags a trend can show: every tag except Modbus string tags."""
    options = []
    for device in config.devices:
        for tag in device.tags:
            if isinstance(tag, ModbusTag) and tag.type in NON_NUMERIC_TYPES:
                continue
            name = f"{device.name}.{tag.name}"
            label = f"{name} ({tag.unit})" if tag.unit else name
            options.append({"label": label, "value": name})
    return options


def default_trend_tag(config: Config) -> str | None:
    for device in config.devices:
        for tag in device.tags:
            if is_analog(tag):
                return f"{device.name}.{tag.name}"
    options = trend_options(config)
    return options[0]["value"] if options else None


def build_layout(config: Config) -> html.Div:
    refresh_ms = int(config.dashboard.refresh_interval_s * 1000)
    header = html.Header(
        [
            html.H1(config.site.name, id=ids.SITE_NAME),
            html.Div(id=ids.CLOCK, className="clock"),
            html.Div(id=ids.HISTORIAN, className="historian"),
        ],
        className="header",
    )
    banners = [
        html.Div(id=ids.STATUS_BANNER, className="banner", hidden=True),
        html.Div(
            "Connection to the Vigie server lost: values below are not updated.",
            id=ids.LINK_BANNER,
            className="banner",
            hidden=True,
        ),
    ]
    # Every section stays in the page and a tab only hides the others, so the
    # refresh callback can fill all of them from one status read.
    tabs = dcc.Tabs(
        id=ids.TABS,
        value=ids.TAB_OVERVIEW,
        children=[
            dcc.Tab(label=label, value=name, id=ids.tab(name))
            for name, label in TAB_LABELS.items()
        ],
        className="tabs",
    )
    sections = [
        _overview_section(),
        _trend_section(config),
        _alarm_system_section(),
        _devices_section(),
    ]

    return html.Div(
        [
            header,
            *banners,
            tabs,
            html.Div(sections, id=ids.CONTENT, className="content"),
            dcc.Interval(id=ids.INTERVAL, interval=refresh_ms),
            dcc.Interval(id=ids.REPORT_INTERVAL, interval=REPORT_REFRESH_MS),
            dcc.Store(id=ids.LAST_GOOD_TICK, data=0),
            dcc.Store(id=ids.ACTION_TARGET, data=None),
            dcc.Store(id=ids.TREND_VERSION, data=None),
            dcc.Download(id=ids.TREND_DOWNLOAD),
        ],
        id=ids.PAGE,
        className="page",
    )


def _overview_section() -> html.Section:
    alarms = html.Div(
        [
            html.H2(["Alarms ", html.Span(id=ids.ALARM_COUNT, className="count")]),
            dcc.Checklist(
                id=ids.SHOW_HIDDEN,
                options=[
                    {
                        "label": " Show hidden alarms (shelved, suppressed, out of"
                        " service)",
                        "value": "hidden",
                    }
                ],
                value=[],
                className="show-hidden",
            ),
            _action_panel(),
            html.Div(id=ids.ACK_RESULT, className="ack-result"),
            html.Div(id=ids.ALARM_LIST),
        ],
        className="alarms",
    )
    tags = html.Div([html.H2("Tags"), html.Div(id=ids.TAG_TABLE)], className="overview")
    return html.Section(
        [alarms, tags], id=ids.section(ids.TAB_OVERVIEW), className="tab-section"
    )


def _action_panel() -> html.Div:
    """The form that requests a shelve duration and reason, or a service reason.

    It sits outside the alarm list, which every refresh redraws, so what the
    operator types survives the refresh.
    """
    return html.Div(
        [
            html.Div(id=ids.ACTION_TITLE, className="action-title"),
            dcc.RadioItems(
                id=ids.SHELVE_DURATION,
                options=[
                    {"label": f" {format_duration(seconds)}", "value": seconds}
                    for seconds in SHELVE_DURATIONS_S
                ],
                value=SHELVE_DURATIONS_S[0],
                inline=True,
                className="shelve-duration",
            ),
            dcc.Input(
                id=ids.ACTION_REASON,
                type="text",
                placeholder="Reason (required)",
                value="",
                className="action-reason",
            ),
            html.Button("Confirm", id=ids.ACTION_CONFIRM, className="action-confirm"),
            html.Button("Cancel", id=ids.ACTION_CANCEL, className="action-cancel"),
        ],
        id=ids.ACTION_PANEL,
        className="action-panel",
        hidden=True,
    )


def _trend_section(config: Config) -> html.Section:
    options = [{"label": label, "value": key} for key, label in RANGE_LABELS.items()]
    default = default_trend_tag(config)
    return html.Section(
        [
            html.H2("Trend"),
            dcc.Dropdown(
                id=ids.TREND_TAG,
                options=trend_options(config),
                value=[default] if default else [],
                multi=True,
                placeholder=f"Choose up to {MAX_TREND_TAGS} tags",
            ),
            html.Div(
                [
                    dcc.RadioItems(
                        id=ids.TREND_RANGE,
                        options=options,
                        value="1h",
                        inline=True,
                        className="trend-range",
                    ),
                    dcc.Input(
                        id=ids.TREND_FROM,
                        type="text",
                        placeholder="From, such as 2024-06-01 08:00",
                        debounce=True,
                    ),
                    dcc.Input(
                        id=ids.TREND_TO,
                        type="text",
                        placeholder="To, such as 2024-06-02 08:00",
                        debounce=True,
                    ),
                    html.Button(
                        "Download CSV",
                        id=ids.TREND_CSV_BUTTON,
                        className="csv-button",
                    ),
                ],
                className="trend-controls",
            ),
            html.Div(id=ids.TREND_NOTE, className="trend-note"),
            dcc.Graph(id=ids.TREND_GRAPH, config={"displaylogo": False}),
        ],
        id=ids.section(ids.TAB_TRENDS),
        className="tab-section trend",
        hidden=True,
    )


def _alarm_system_section() -> html.Section:
    return html.Section(
        [
            html.H2("Alarm-system performance"),
            dcc.RadioItems(
                id=ids.REPORT_RANGE,
                options=[
                    {"label": " Last 24 h", "value": "24h"},
                    {"label": " Last 7 days", "value": "7d"},
                ],
                value="24h",
                inline=True,
            ),
            html.Div(id=ids.REPORT),
            html.H2("Notifications, last 24 h"),
            html.Div(id=ids.NOTIFICATION_LOG),
        ],
        id=ids.section(ids.TAB_ALARM_SYSTEM),
        className="tab-section",
        hidden=True,
    )


def _devices_section() -> html.Section:
    return html.Section(
        [
            html.H2("Devices"),
            html.Div(id=ids.DEVICE_TILES, className="device-tiles"),
            html.H2("Historian"),
            html.Div(id=ids.HISTORIAN_HEALTH),
        ],
        id=ids.section(ids.TAB_DEVICES),
        className="tab-section",
        hidden=True,
    )
