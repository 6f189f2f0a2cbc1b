"""`vigie notifications log`: print the notification log of a time range."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from vigie.commands import EXIT_FAILED, EXIT_OK, add_config_options
from vigie.errors import UsageError
from vigie.times import parse_time

DAY_S = 86_400.0


def register(commands) -> None:
    parser = commands.add_parser(
        "notifications", help="show what the notification service sent"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    log_parser = actions.add_parser(
        "log",
        help="print every delivery attempt in a time range",
        description="Print every delivery attempt (sent, retry, failed) and every"
        " message held by a rate limit, oldest first. Times without a UTC offset"
        " are in the site's time zone.",
    )
    add_config_options(log_parser)
    log_parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder holding notifications.sqlite (overrides data_dir)",
    )
    log_parser.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="start: now, relative to now such as -1h, seconds since the epoch, or"
        " ISO 8601 such as 2026-01-12T08:00, site time without an offset (default:"
        " 24 h before --to)",
    )
    log_parser.add_argument(
        "--to",
        dest="end",
        metavar="TIME",
        help="end, in the same forms as --from (default: now)",
    )
    log_parser.add_argument("--alarm", metavar="ID", help="only this alarm id")
    log_parser.add_argument("--recipient", metavar="NAME", help="only this recipient")
    log_parser.set_defaults(handler=run, needs_config=True)


def format_log(entries: list[dict], tz: ZoneInfo) -> list[str]:
    """Return the entries as table lines, times in ``tz``."""
    header = ("time", "alarm", "transition", "kind", "recipient", "channel", "result")
    rows = [header]
    for entry in entries:
        when = datetime.datetime.fromtimestamp(entry["ts"], tz)
        rows.append(
            (
                f"{when:%Y-%m-%d %H:%M:%S}",
                entry["alarm_id"] or "-",
                entry["transition"],
                entry["kind"],
                entry["recipient"],
                entry["channel"] or "-",
                entry["result"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row, entry in zip(rows, [None, *entries]):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
        if entry is not None and entry["error"]:
            line += f"  {entry['error']}"
        lines.append(line.rstrip())
    return lines


def run(args) -> int:
    from alarms.notify.store import STORE_NAME, NotificationStore

    config = args.config_model
    tz = ZoneInfo(config.site.timezone)
    try:
        now = time.time()
        end = parse_time(args.end, tz, now) if args.end else now
        start = parse_time(args.start, tz, now) if args.start else end - DAY_S
    except ValueError as err:
        raise UsageError(str(err)) from None

    path = Path(config.data_dir) / STORE_NAME
    if not path.exists():
        print(f"vigie: {path} not found; the notification service has not run there")
        return EXIT_FAILED

    store = NotificationStore(path)
    try:
        entries = store.query_log(start, end, args.alarm, args.recipient)
    finally:
        store.close()

    for line in format_log(entries, tz):
        print(line)
    print(f"{len(entries)} entries, times in {tz.key}.")
    return EXIT_OK
