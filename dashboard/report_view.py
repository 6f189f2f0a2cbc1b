"""The alarm-system page: the EEMUA 191 performance report and the notification log,
rendered from the documents of ``alarm_report`` and ``notification_log``."""

from __future__ import annotations

from dash import html

from dashboard.formatting import format_duration, format_time

# Rows of the notification log shown, newest first.
MAX_LOG_ROWS = 200

REPORT_RANGES_S = {"24h": 86400, "7d": 7 * 86400}


def render_report(report: dict, timezone: str) -> html.Div:
    total = report["total"]
    targets = report.get("targets", {})
    per_10 = total["alarms_per_10_min"]
    target_10 = targets.get("alarms_per_10_min", 1.0)
    target_day = targets.get("alarms_per_day", 144.0)
    start = format_time(report["start"], timezone)
    end = format_time(report["end"], timezone)

    rows = [
        _measure("Alarms", str(total["alarms"]), "", False),
        _measure(
            "Alarms per 10 min, average",
            f"{per_10['average']:.2f}",
            f"about {target_10:g}",
            per_10["average"] > target_10,
        ),
        _measure(
            "Alarms per 10 min, maximum",
            str(per_10["max"]),
            f"about {target_10:g}",
            per_10["max"] > target_10,
        ),
        _measure(
            "10 min periods over target",
            f"{per_10['periods_over_target']} of {per_10['periods']}",
            "0",
            per_10["periods_over_target"] > 0,
        ),
        _measure(
            "Alarms per day",
            f"{total['alarms_per_day']:.1f}",
            f"about {target_day:g}",
            total["alarms_per_day"] > target_day,
        ),
        _measure(
            "Time in flood",
            f"{total['time_in_flood_percent']:.1f} %",
            "under 1 %",
            total["time_in_flood_percent"] >= 1.0,
        ),
    ]
    summary = html.Table(
        [
            html.Thead(
                html.Tr([html.Th("Measure"), html.Th("Value"), html.Th("Target")])
            ),
            html.Tbody(rows),
        ],
        className="report-table",
    )
    return html.Div(
        [
            html.Div(f"From {start} to {end}", className="report-span"),
            summary,
            html.H3("Priority mix"),
            _priority_mix(total["priority_mix"], targets),
            html.H3("Flood periods"),
            _floods(total["floods"], timezone),
            html.H3("Chattering alarms"),
            _simple_table(
                ("Alarm", "Max activations in 60 s"),
                [(e["alarm_id"], e["max_per_minute"]) for e in total["chattering"]],
                "No chattering alarm",
            ),
            html.H3("Stale alarms (active over 24 h)"),
            _simple_table(
                ("Alarm", "Active since", "Active for", "Still active"),
                [
                    (
                        e["alarm_id"],
                        format_time(e["active_since"], timezone),
                        format_duration(round(e["active_s"] / 60) * 60),
                        "yes" if e["still_active"] else "no",
                    )
                    for e in total["stale"]
                ],
                "No stale alarm",
            ),
            html.H3("Ten most frequent alarms"),
            _simple_table(
                ("Alarm", "Count", "Share"),
                [
                    (e["alarm_id"], e["count"], f"{e['percent']:.1f} %")
                    for e in total["most_frequent"]
                ],
                "No alarm in this range",
            ),
        ],
        className="report",
    )


def render_notifications(entries: list[dict], timezone: str) -> html.Div:
    if not entries:
        return html.Div("No notification in the last 24 h", className="no-entries")
    newest = list(reversed(entries))[:MAX_LOG_ROWS]
    rows = [
        (
            format_time(entry.get("ts"), timezone),
            entry.get("alarm_id", ""),
            entry.get("transition", ""),
            entry.get("kind", ""),
            entry.get("recipient", ""),
            entry.get("channel", ""),
            entry.get("result", ""),
            entry.get("error", ""),
        )
        for entry in newest
    ]
    note = []
    if len(entries) > MAX_LOG_ROWS:
        note = [html.Div(f"Newest {MAX_LOG_ROWS} of {len(entries)} entries")]
    header = (
        "Time",
        "Alarm",
        "Transition",
        "Kind",
        "Recipient",
        "Channel",
        "Result",
        "Error",
    )
    return html.Div([*note, _simple_table(header, rows, "")])


def _measure(name: str, value: str, target: str, over: bool) -> html.Tr:
    return html.Tr(
        [html.Td(name), html.Td(value, className="num"), html.Td(target)],
        className="over-target" if over else "",
    )


def _priority_mix(mix: dict, targets: dict) -> html.Table:
    target = targets.get("priority_mix_percent", {})
    counts = mix["counts"]
    shown = {
        "high": counts.get("critical", 0) + counts.get("high", 0),
        "medium": counts.get("medium", 0),
        "low": counts.get("low", 0),
    }
    rows = [
        (
            "high (with critical)" if name == "high" else name,
            shown[name],
            f"{mix['percent'][name]:.0f} %",
            f"{target.get(name, 0):g} %",
        )
        for name in ("high", "medium", "low")
    ]
    return _simple_table(("Priority", "Alarms", "Share", "Target"), rows, "")


def _floods(periods: list[dict], timezone: str) -> html.Table | html.Div:
    rows = [
        (
            format_time(period["start"], timezone),
            format_time(period["end"], timezone),
            format_duration(round((period["end"] - period["start"]) / 60) * 60),
        )
        for period in periods
    ]
    return _simple_table(("Start", "End", "Duration"), rows, "No flood")


def _simple_table(header, rows, empty: str):
    if not rows and empty:
        return html.Div(empty, className="no-entries")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(name) for name in header])),
            html.Tbody([html.Tr([html.Td(str(cell)) for cell in row]) for row in rows]),
        ],
        className="report-table",
    )
