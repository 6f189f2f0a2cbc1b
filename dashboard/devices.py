"""Device tiles and the historian health block, rendered from the /api/status
document."""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.formatting import format_age, format_time

# Historian counters shown in the health block, in order, with their labels.
HISTORIAN_FIELDS = (
    ("backend", "Backend"),
    ("written", "Written"),
    ("backlog", "Backlog"),
    ("spooled", "Spooled"),
    ("quarantined", "Quarantined"),
    ("dropped", "Dropped"),
    ("errors", "Errors"),
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
            [
                html.Span(device["name"], className="device-name"),
                html.Span(state, className="device-state"),
            ],
            className="device-head",
        ),
        html.Div(f"{device.get('protocol', '')}", className="device-protocol"),
        html.Div(f"Last good poll: {last_poll}", className="device-last-poll"),
        html.Div(
            f"Polls {device.get('polls', 0)}, errors {device.get('errors', 0)},"
            f" reconnects {device.get('reconnects', 0)},"
            f" skipped {device.get('skipped_polls', 0)},"
            f" samples {device.get('samples', 0)}",
            className="device-counters",
        ),
    ]
    if device.get("last_error"):
        lines.append(
            html.Div(f"Last error: {device['last_error']}", className="device-error")
        )
    diagnostics = device.get("diagnostics") or {}
    if diagnostics:
        text = ", ".join(f"{key} {value}" for key, value in sorted(diagnostics.items()))
        lines.append(html.Div(text, className="device-diagnostics"))

    connected = "connected" if device.get("connected") else "not-connected"
    return html.Div(
        lines,
        id=ids.device_tile(device["name"]),
        className=f"device-tile {connected} state-{state}",
        **{"data-device": device["name"], "data-state": state},
    )


def historian_warnings(historian: dict) -> list[str]:
    warnings = []
    if historian.get("unreachable"):
        warnings.append(
            "Historian unreachable: samples wait in the backlog"
            f" ({historian.get('backlog', 0)}) until it answers again"
        )
    if historian.get("overflow"):
        warnings.append(
            f"Spool overflow: {historian.get('dropped', 0)} samples dropped and lost"
        )
    return warnings


def render_historian(historian: dict | None) -> html.Div:
    if not historian:
        return html.Div("No historian status", className="historian-health")

    rows = [
        html.Tr([html.Th(label), html.Td(str(historian.get(key, 0)), id=f"hist-{key}")])
        for key, label in HISTORIAN_FIELDS
    ]
    if historian.get("last_error"):
        rows.append(html.Tr([html.Th("Last error"), html.Td(historian["last_error"])]))
    warnings = [
        html.Div(text, className="warning historian-warning")
        for text in historian_warnings(historian)
    ]
    return html.Div(
        [*warnings, html.Table(html.Tbody(rows), className="historian-table")],
        className="historian-health",
    )
