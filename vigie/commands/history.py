"""`vigie history`: print the history of tags as aggregates or raw samples."""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from vigie.commands import EXIT_OK, add_config_options

UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")


def register(commands) -> None:
    parser = commands.add_parser(
        "history",
        help="print stored history of tags",
        description="Print the history of one or more tags in the site time zone,"
        " as aggregates per interval (--every) or as raw samples.",
    )
    add_config_options(parser)
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder of the SQLite historian (overrides data_dir)",
    )
    parser.add_argument("tags", nargs="+", metavar="TAG", help="full tag name")
    parser.add_argument(
        "--from",
        dest="start",
        default="-1h",
        type=parse_time,
        help="start: ISO 8601 with an offset (2024-06-01T12:00+02:00), 'now', or"
        " relative to now such as -1h, -30m, -7d (default: -1h)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        default="now",
        type=parse_time,
        help="end, excluded from aggregates; same forms as --from (default: now)",
    )
    parser.add_argument(
        "--every",
        type=parse_duration,
        metavar="INTERVAL",
        help="bucket width such as 30s, 1m, 1h, 1d; days follow the site's local"
        " calendar. Without it, raw samples are printed",
    )
    parser.add_argument(
        "--agg",
        default="mean",
        choices=["mean", "min", "max", "last", "count"],
        help="aggregate per bucket (default: mean)",
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        default="table",
        choices=["table", "csv"],
        help="output format (default: table)",
    )
    parser.set_defaults(handler=run, needs_config=True)


def parse_duration(text: str) -> float:
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid interval {text!r}: use a number and a unit s, m, h, d or w,"
            " such as 1m"
        )
    seconds = float(match.group(1)) * UNITS_S[match.group(2)]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"interval must be positive, got {text!r}")
    return seconds


def parse_time(text: str, now: float | None = None) -> float:
    """Parse 'now', a relative time such as -1h, or ISO 8601 with an offset."""
    now = time.time() if now is None else now
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("-") and DURATION.match(text[1:]):
        return now - parse_duration(text[1:])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use ISO 8601 with an offset such as"
            " 2024-06-01T12:00:00+02:00, 'now', or a relative time such as -1h"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"time {text!r} has no UTC offset; add one such as +02:00 or Z"
        )
    return moment.timestamp()


def local_text(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).isoformat(sep=" ", timespec="milliseconds")


def collect(reader, args, tz: str) -> dict[float, dict[str, object]]:
    """Return {ts: {tag: value}} for every tag."""
    rows: dict[float, dict[str, object]] = {}
    for tag in args.tags:
        if args.every is None:
            raw = reader.query_raw(tag, args.start, args.end)
            points = [(ts, value) for ts, value, _quality in raw]
        else:
            points = reader.query_aggregate(
                tag, args.start, args.end, args.every, args.agg, tz=tz
            )
        for ts, value in points:
            rows.setdefault(ts, {})[tag] = value
    return rows


def run(args, output=None) -> int:
    from historian import make_reader

    output = output or sys.stdout
    config = args.config_model
    tz = config.site.timezone
    zone = ZoneInfo(tz)
    reader = make_reader(config)
    try:
        rows = collect(reader, args, tz)
    finally:
        reader.close()

    header = ["time", *args.tags]
    table = [
        [local_text(ts, zone), *(format_value(rows[ts].get(tag)) for tag in args.tags)]
        for ts in sorted(rows)
    ]
    if args.output_format == "csv":
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(table)
    else:
        lines = [header, *table]
        widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
        for row in lines:
            line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths))
            output.write(line.rstrip() + "\n")
    return EXIT_OK


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
