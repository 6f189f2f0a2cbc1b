"""`vigie history`: print the history of tags as aggregates or raw samples."""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from historian.kinds import BOOLEAN, INTEGER, read_back, tag_kinds
from vigie.commands import EXIT_OK, add_config_options
from vigie.errors import UsageError
from vigie.model import Quality
from vigie.times import parse_duration, parse_time


# Name of each stored quality, as /api/status writes it.
QUALITY_NAMES = {int(quality): quality.name.lower() for quality in Quality}


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
        metavar="TIME",
        help="start: now, relative to now such as -1h, -30m, -7d, seconds since the"
        " epoch, or ISO 8601 (2024-06-01T12:00, site time without an offset)"
        " (default: -1h)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        default="now",
        metavar="TIME",
        help="end, excluded from aggregates; same forms as --from (default: now)",
    )
    parser.add_argument(
        "--every",
        type=duration_argument,
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


def duration_argument(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def local_text(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).isoformat(sep=" ", timespec="milliseconds")


def collect(
    reader, args, tz: str, kinds: dict[str, str]
) -> dict[float, dict[str, tuple]]:
    """Return {ts: {tag: (value, quality)}} for every tag.

    Aggregates have no quality of their own, so theirs is None. The min, max and
    last of a bool or integer tag are one sample's value, so they keep its type.
    """
    rows: dict[float, dict[str, tuple]] = {}
    for tag in args.tags:
        if args.every is None:
            points = reader.query_raw(tag, args.start, args.end)
        else:
            aggregates = reader.query_aggregate(
                tag, args.start, args.end, args.every, args.agg, tz=tz
            )
            kind = kinds.get(tag) if args.agg in ("min", "max", "last") else None
            if kind in (BOOLEAN, INTEGER):
                aggregates = [(ts, read_back(value, kind)) for ts, value in aggregates]
            points = [(ts, value, None) for ts, value in aggregates]
        for ts, value, quality in points:
            rows.setdefault(ts, {})[tag] = (value, quality)
    return rows


def run(args, output=None) -> int:
    from historian import make_reader

    output = output or sys.stdout
    config = args.config_model
    tz = config.site.timezone
    zone = ZoneInfo(tz)
    try:
        now = time.time()
        args.start = parse_time(args.start, zone, now)
        args.end = parse_time(args.end, zone, now)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.end <= args.start:
        raise UsageError("--to is not after --from; give an end after the start")
    known = {
        f"{device.name}.{tag.name}" for device in config.devices for tag in device.tags
    }
    for tag in args.tags:
        if tag not in known:
            raise UsageError(
                f"unknown tag {tag!r}: use a full tag name <device>.<tag> from the"
                " configuration; vigie check lists the devices"
            )
    reader = make_reader(config)
    try:
        rows = collect(reader, args, tz, tag_kinds(config))
    finally:
        reader.close()

    if args.output_format == "csv":
        # Raw samples get a quality column per tag, so that the values stay numbers.
        with_quality = args.every is None
        header = ["time"]
        for tag in args.tags:
            header += [tag, f"{tag} quality"] if with_quality else [tag]
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(header)
        for ts in sorted(rows):
            row = [local_text(ts, zone)]
            for tag in args.tags:
                value, quality = rows[ts].get(tag, (None, None))
                row.append(format_value(value))
                if with_quality:
                    row.append("" if quality is None else QUALITY_NAMES[quality])
            writer.writerow(row)
    else:
        header = ["time", *args.tags]
        table = [
            [
                local_text(ts, zone),
                *(format_cell(*rows[ts].get(tag, (None, None))) for tag in args.tags),
            ]
            for ts in sorted(rows)
        ]
        lines = [header, *table]
        widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
        for row in lines:
            line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths))
            output.write(line.rstrip() + "\n")
    return EXIT_OK


def format_cell(value, quality: int | None) -> str:
    """Return a table cell: the value, marked when its quality is not good."""
    text = format_value(value)
    if quality is None or quality == Quality.GOOD:
        return text
    name = QUALITY_NAMES[quality]
    return f"{text} ({name})" if text else f"({name})"


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
