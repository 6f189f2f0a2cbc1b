"""Trend figures: history points in, plotly figure out. No I/O, no Dash."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from vigie.model import Quality

LINE_COLOUR = "#1f6fb2"
# Tick spacings in seconds, each a whole number of minutes that divides a day.
TICK_STEPS_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def local_times(timestamps: list[float], timezone: str) -> list[datetime]:
    """Convert UTC epoch seconds to naive wall-clock times of the site.

    Wall-clock times repeat an hour when the clocks go back, so plots use
    ``axis_times`` instead; this is for labels and tests.
    """
    zone = ZoneInfo(timezone)
    return [datetime.fromtimestamp(ts, zone).replace(tzinfo=None) for ts in timestamps]


def axis_times(timestamps: list[float], timezone: str, now: float) -> list[datetime]:
    """Return x values: real time shifted by the site's UTC offset at ``now``.

    plotly.js has no time zones: it places a naive datetime as a wall-clock time
    and shows an aware one in the browser's zone. A single shift keeps x strictly
    increasing in real time across a clock change (where wall-clock times repeat or
    skip an hour), and the samples of the current offset period sit at their local
    time. Tick and hover labels come from ``local_ticks`` and ``hover_labels``, so
    they show local time on both sides of a clock change.
    """
    shift = _offset_s(now, timezone)
    return [
        datetime.fromtimestamp(ts + shift, UTC).replace(tzinfo=None)
        for ts in timestamps
    ]


def hover_labels(timestamps: list[float], timezone: str) -> list[str]:
    """Return local times with their offset, such as 2024-06-01 12:00:00 +02:00."""
    zone = ZoneInfo(timezone)
    labels = []
    for ts in timestamps:
        moment = datetime.fromtimestamp(ts, zone)
        offset = moment.strftime("%z")
        labels.append(f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}")
    return labels


def local_ticks(
    start: float, end: float, timezone: str, now: float, count: int = 6
) -> tuple[list[datetime], list[str]]:
    """Return tick x values and local time labels, about ``count`` over the range."""
    step = next(
        (step for step in TICK_STEPS_S if (end - start) / step <= count),
        TICK_STEPS_S[-1],
    )
    zone = ZoneInfo(timezone)
    values: list[float] = []
    ts = start - start % 60
    # Bounded: at most the range in minutes, because every step is whole minutes.
    while ts <= end and len(values) < 10 * count:
        local = datetime.fromtimestamp(ts, zone)
        seconds_of_day = local.hour * 3600 + local.minute * 60 + local.second
        if ts >= start and seconds_of_day % step == 0:
            values.append(ts)
            ts += min(step, 3600)
            continue
        ts += 60
    labels = []
    for ts in values:
        local = datetime.fromtimestamp(ts, zone)
        labels.append(f"{local:%H:%M}" if step < 86400 else f"{local:%Y-%m-%d}")
    return axis_times(values, timezone, now), labels


def _offset_s(ts: float, timezone: str) -> float:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).utcoffset().total_seconds()


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
            x=axis_times(timestamps, timezone, now),
            y=values,
            customdata=hover_labels(timestamps, timezone),
            hovertemplate="%{customdata}<br>%{y}<extra></extra>",
            mode="lines",
            name=tag,
            connectgaps=False,
            line={"color": LINE_COLOUR, "shape": "hv" if is_bool else "linear"},
        )
    )

    start, end = axis_times([now - window_s, now], timezone, now)
    tick_values, tick_labels = local_ticks(now - window_s, now, timezone, now)
    figure.update_layout(
        # Keeps the operator's zoom across refreshes until another tag is chosen.
        uirevision=tag,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        title={"text": f"{tag} ({unit})" if unit else tag, "x": 0.01},
        xaxis={
            "range": [start, end],
            "title": {"text": f"Time ({timezone})"},
            "tickmode": "array",
            "tickvals": tick_values,
            "ticktext": tick_labels,
        },
        yaxis={"title": {"text": unit}},
        showlegend=False,
        template="plotly_white",
    )
    if is_bool:
        figure.update_yaxes(tickvals=[0, 1], ticktext=["OFF", "ON"], range=[-0.1, 1.1])
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


# Line colours of the tags of one chart, in the order they were chosen.
TAG_COLOURS = ("#1f6fb2", "#c2410c", "#2e7d32", "#7b1fa2")
BAND_OPACITY = 0.2


def unit_axes(tags: list[str], units: dict[str, str]) -> dict[str, int]:
    """Number the y axes by unit in the order tags were chosen: tag -> axis 1..4."""
    order: list[str] = []
    for tag in tags:
        if units.get(tag, "") not in order:
            order.append(units.get(tag, ""))
    return {tag: order.index(units.get(tag, "")) + 1 for tag in tags}


def trend_chart(
    tags: list[str],
    raw: dict[str, list[tuple]],
    bands: dict[str, list[tuple]],
    units: dict[str, str],
    timezone: str,
    now: float,
    start: float,
    end: float,
) -> go.Figure:
    """Draw up to four tags on one chart, one y axis per unit.

    A tag in ``raw`` is a line of its samples; a tag in ``bands`` is its bucket
    means as a line over a shaded band from the bucket minimum to the maximum, so
    a single spike in a long range is still drawn. x values come from
    ``axis_times`` and labels from ``hover_labels`` and ``local_ticks``.
    """
    axes = unit_axes(tags, units)
    figure = go.Figure()
    bool_axes: dict[int, bool] = {}
    for index, tag in enumerate(tags):
        colour = TAG_COLOURS[index % len(TAG_COLOURS)]
        axis = axes[tag]
        yref = "y" if axis == 1 else f"y{axis}"
        label = f"{tag} ({units[tag]})" if units.get(tag) else tag
        if tag in bands:
            _add_band(figure, bands[tag], label, colour, yref, timezone, now)
            bool_axes[axis] = False
            continue
        timestamps, values, is_bool = trend_series(raw.get(tag, []))
        bool_axes[axis] = bool_axes.get(axis, True) and is_bool
        figure.add_trace(
            go.Scatter(
                x=axis_times(timestamps, timezone, now),
                y=values,
                customdata=hover_labels(timestamps, timezone),
                hovertemplate="%{customdata}<br>%{y}<extra>" + tag + "</extra>",
                mode="lines",
                name=label,
                connectgaps=False,
                yaxis=yref,
                line={"color": colour, "shape": "hv" if is_bool else "linear"},
            )
        )

    x_start, x_end = axis_times([start, end], timezone, now)
    tick_values, tick_labels = local_ticks(start, end, timezone, now)
    count = max(axes.values(), default=1)
    figure.update_layout(
        uirevision=f"{','.join(tags)}:{round(end - start)}",
        margin={"l": 60, "r": 60, "t": 30, "b": 40},
        xaxis={
            "range": [x_start, x_end],
            "title": {"text": f"Time ({timezone})"},
            "tickmode": "array",
            "tickvals": tick_values,
            "ticktext": tick_labels,
            "domain": [0.08 if count >= 3 else 0.0, 0.92 if count >= 4 else 1.0],
        },
        legend={"orientation": "h", "y": 1.08, "x": 0.0},
        template="plotly_white",
    )
    for tag, axis in axes.items():
        figure.update_layout(
            {_axis_name(axis): _y_axis(axis, units.get(tag, ""), bool_axes[axis])}
        )

    if not any(raw.get(tag) or bands.get(tag) for tag in tags):
        figure.add_annotation(
            text="No history in this range",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
    return figure


def _add_band(figure, buckets, label, colour, yref, timezone, now) -> None:
    timestamps = [bucket[0] for bucket in buckets]
    x = axis_times(timestamps, timezone, now)
    hover = hover_labels(timestamps, timezone)
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    fill = f"rgba({red},{green},{blue},{BAND_OPACITY})"
    group = f"band:{label}"
    # The fill of the minimum trace reaches up to the maximum trace before it.
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[bucket[3] for bucket in buckets],
            mode="lines",
            yaxis=yref,
            line={"width": 0, "color": colour},
            name=f"{label} max",
            legendgroup=group,
            showlegend=False,
            hoverinfo="skip",
            connectgaps=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[bucket[1] for bucket in buckets],
            mode="lines",
            yaxis=yref,
            line={"width": 0, "color": colour},
            fill="tonexty",
            fillcolor=fill,
            name=f"{label} min",
            legendgroup=group,
            showlegend=False,
            hoverinfo="skip",
            connectgaps=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=[bucket[2] for bucket in buckets],
            customdata=[
                [text, bucket[1], bucket[3]] for text, bucket in zip(hover, buckets)
            ],
            hovertemplate=(
                "%{customdata[0]}<br>mean %{y}<br>min %{customdata[1]}"
                " max %{customdata[2]}<extra></extra>"
            ),
            mode="lines",
            yaxis=yref,
            name=label,
            legendgroup=group,
            connectgaps=False,
            line={"color": colour},
        )
    )


def _axis_name(axis: int) -> str:
    return "yaxis" if axis == 1 else f"yaxis{axis}"


def _y_axis(axis: int, unit: str, is_bool: bool) -> dict:
    """Axis 1 left, 2 right, 3 left of 1 and 4 right of 2."""
    layout: dict = {"title": {"text": unit}}
    if axis > 1:
        layout.update(overlaying="y", showgrid=False)
    if axis == 2:
        layout.update(side="right", anchor="x")
    elif axis == 3:
        layout.update(side="left", anchor="free", position=0.0)
    elif axis == 4:
        layout.update(side="right", anchor="free", position=1.0)
    if is_bool:
        layout.update(tickvals=[0, 1], ticktext=["OFF", "ON"], range=[-0.1, 1.1])
    return layout
