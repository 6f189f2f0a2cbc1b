"""Device tiles and the tag table, rendered from the /api/status document."""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.formatting import (
    MISSING,
    format_age,
    format_quality,
    format_time,
    format_value,
    is_stale,
)


def render_device_tiles(devices: list[dict], timezone: str, now: float) -> list:
    return [_device_tile(device, timezone, now) for device in devices]


def _device_tile(device: dict, timezone: str, now: float) -> html.Div:
    state = device.get("state", "unknown")
    last_success = device.get("last_success_ts")
    if last_success is None:
        last_poll = "never"
    else:
        last_poll = (
            f"{format_time(last_success, timezone)}"
            f" ({format_age(now - last_success)} ago)"
        )

    lines = [
        html.Div(
            [html.Span(device["name"], className="device-name"),
             html.Span(state, className="device-state")],
            className="device-head",
        ),
        html.Div(f"{device.get('protocol', '')}", className="device-protocol"),
        html.Div(f"Last good poll: {last_poll}", className="device-last-poll"),
        html.Div(
            f"Polls {device.get('polls', 0)}, errors {device.get('errors', 0)},"
            f" reconnects {device.get('reconnects', 0)},"
            f" skipped {device.get('skipped_polls', 0)}",
            className="device-counters",
        ),
    ]
    if device.get("last_error"):
        lines.append(
            html.Div(f"Last error: {device['last_error']}", className="device-error")
        )

    connected = "connected" if device.get("connected") else "not-connected"
    return html.Div(
        lines,
        id=ids.device_tile(device["name"]),
        className=f"device-tile {connected} state-{state}",
        **{"data-device": device["name"], "data-state": state},
    )


def render_tag_table(status: dict) -> html.Table:
    header = html.Thead(
        html.Tr(
            [
                html.Th("Tag"),
                html.Th("Description"),
                html.Th("Value", className="num"),
                html.Th("Quality"),
                html.Th("Age", className="num"),
            ]
        )
    )

    rows = []
    for device, tags in _group_by_device(status).items():
        rows.append(
            html.Tr(
                html.Td(device, colSpan=5),
                className="device-group",
                **{"data-device": device},
            )
        )
        rows.extend(_tag_row(tag) for tag in tags)
    return html.Table([header, html.Tbody(rows)], className="tag-table")


def _group_by_device(status: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {d["name"]: [] for d in status.get("devices", [])}
    for tag in status.get("tags", []):
        device = tag.get("device") or tag["name"].split(".", 1)[0]
        groups.setdefault(device, []).append(tag)
    return {device: tags for device, tags in groups.items() if tags}


def _tag_row(tag: dict) -> html.Tr:
    name = tag["name"]
    stale = is_stale(tag)
    quality = tag.get("quality", "bad")
    value_text = format_value(tag.get("value"), tag.get("unit", ""))
    if stale and value_text != MISSING:
        value_text = f"{value_text} (stale)"

    classes = ["tag-row", f"quality-{quality}"]
    if stale:
        classes.append("stale")
    return html.Tr(
        [
            html.Td(name.split(".", 1)[-1], className="tag-name", title=name),
            html.Td(tag.get("description", ""), className="tag-description"),
            html.Td(value_text, id=ids.tag_cell("value", name), className="num value"),
            html.Td(
                format_quality(quality, tag.get("reason", "")),
                id=ids.tag_cell("quality", name),
                className="quality",
            ),
            html.Td(
                format_age(tag.get("age_s")),
                id=ids.tag_cell("age", name),
                className="num age",
            ),
        ],
        id=ids.tag_cell("row", name),
        className=" ".join(classes),
        **{"data-tag": name, "data-stale": "true" if stale else "false"},
    )
