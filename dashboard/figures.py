"""Trend figures: history points in, plotly figure out. No I/O, no Dash."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from vigie.model import Quality

LINE_COLOUR = "#1f6fb2"


def local_times(timestamps: list[float], timezone: str) -> list[datetime]:
    """Convert UTC epoch seconds to naive wall-clock times of the site.

    plotly.js has no time zones and would show an aware datetime in the browser's
    zone, so the axis gets the site's wall-clock time with the offset removed.
    """
    zone = ZoneInfo(timezone)
    return [datetime.fromtimestamp(ts, zone).replace(tzinfo=None) for ts in timestamps]


def trend_series(points: list[tuple]) -> tuple[list[float], list, bool]:
    """Split history points into timestamps and plot values.

    Returns (timestamps, values, is_bool). Bool values become 0 and 1. A bad or
    non-numeric sample becomes None, which breaks the line, so it shows as a gap.
    """
    timestamps: list[float] = []
    values: list = []
    numeric = [v for _, v, q in points if q != Quality.BAD and v is not None]
    is_bool = bool(numeric) and all(isinstance(v, bool) for v in numeric)

    for ts, value, quality in points:
        timestamps.append(ts)
        if quality == Quality.BAD or value is None or isinstance(value, str):
            values.append(None)
        elif is_bool or isinstance(value, bool):
            values.append(int(value))
        else:
            values.append(float(value))
    return timestamps, values, is_bool


def trend_figure(
    points: list[tuple],
    tag: str,
    unit: str,
    timezone: str,
    now: float,
    window_s: float,
) -> go.Figure:
    timestamps, values, is_bool = trend_series(points)
    figure = go.Figure(
        go.Scatter(
            x=local_times(timestamps, timezone),
            y=values,
            mode="lines",
            name=tag,
            connectgaps=False,
            line={"color": LINE_COLOUR, "shape": "hv" if is_bool else "linear"},
        )
    )

    start, end = local_times([now - window_s, now], timezone)
    figure.update_layout(
        # Keeps the operator's zoom across refreshes until another tag is chosen.
        uirevision=tag,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        title={"text": f"{tag} ({unit})" if unit else tag, "x": 0.01},
        xaxis={"range": [start, end], "title": {"text": f"Time ({timezone})"}},
        yaxis={"title": {"text": unit}},
        showlegend=False,
        template="plotly_white",
    )
    if is_bool:
        figure.update_yaxes(
            tickvals=[0, 1], ticktext=["OFF", "ON"], range=[-0.1, 1.1]
        )
    if not points:
        figure.add_annotation(
            text=f"No history for {tag} in the last {window_s / 60:g} min",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
    return figure
