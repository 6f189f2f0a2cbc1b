"""The static page skeleton, built once from the configuration."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from vigie.config import Config, ModbusTag

NON_NUMERIC_TYPES = ("string",)


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

    overview = html.Section(
        [
            html.H2("Devices"),
            html.Div(id=ids.DEVICE_TILES, className="device-tiles"),
            html.H2("Tags"),
            html.Div(id=ids.TAG_TABLE),
        ],
        className="overview",
    )
    alarms = html.Section(
        [
            html.H2(["Alarms ", html.Span(id=ids.ALARM_COUNT, className="count")]),
            html.Div(id=ids.ACK_RESULT, className="ack-result"),
            html.Div(id=ids.ALARM_LIST),
        ],
        className="alarms",
    )
    trend = html.Section(
        [
            html.H2("Trend"),
            dcc.Dropdown(
                id=ids.TREND_TAG,
                options=trend_options(config),
                value=default_trend_tag(config),
                clearable=False,
            ),
            dcc.Graph(id=ids.TREND_GRAPH, config={"displaylogo": False}),
        ],
        className="trend",
    )

    return html.Div(
        [
            header,
            *banners,
            html.Div([alarms, overview, trend], id=ids.CONTENT, className="content"),
            dcc.Interval(id=ids.INTERVAL, interval=refresh_ms),
            dcc.Store(id=ids.LAST_GOOD_TICK, data=0),
        ],
        id=ids.PAGE,
        className="page",
    )
