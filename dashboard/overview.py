"""The tag table, rendered from the /api/status document."""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.formatting import (
    MISSING,
    format_age,
    format_quality,
    format_value,
    is_stale,
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
