"""`vigie alarms`: commands on the alarm journal.

`vigie alarms report` prints the alarm-system performance (EEMUA 191) of a period.
More subcommands go in SUBCOMMANDS: a module-level ``register_<name>(actions)``
that adds its parser and sets ``handler``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from zoneinfo import ZoneInfo

from alarms.catalog import build_catalog
from alarms.journal import JOURNAL_NAME, migrate
from alarms.report import build_report, format_table
from vigie.commands import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_config_options
from vigie.times import parse_time


def register(commands) -> None:
    parser = commands.add_parser("alarms", help="alarm journal reports")
    actions = parser.add_subparsers(
        dest="alarms_command", required=True, metavar="ACTION"
    )
    for register_action in SUBCOMMANDS:
        register_action(actions)


def register_report(actions) -> None:
    parser = actions.add_parser(
        "report",
        help="alarm-system performance per area (EEMUA 191) between two times",
    )
    add_config_options(parser)
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder of alarms.sqlite (default: the config's data_dir)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="TIME",
        help="start: now, relative to now such as -7d, seconds since the epoch, or"
        " ISO 8601 (2024-06-01 or 2024-06-01T06:00, site time without an offset)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        default="now",
        metavar="TIME",
        help="end, in the same forms as --from (default: now)",
    )
    parser.add_argument("--area", help="report this area only")
    parser.add_argument(
        "--format", choices=["table", "json"], default="table", help="output format"
    )
    parser.set_defaults(handler=run_report, needs_config=True)


# NOTE: the notification commands (`vigie alarms notifications`) register here.
SUBCOMMANDS = (register_report,)


def run_report(args) -> int:
    config = args.config_model
    zone = ZoneInfo(config.site.timezone)
    try:
        now = time.time()
        start = parse_time(args.start, zone, now)
        end = parse_time(args.end, zone, now)
    except ValueError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if end <= start:
        print(
            f"vigie: --to {args.end} is not after --from {args.start}", file=sys.stderr
        )
        return EXIT_CONFIG

    path = config.data_path() / JOURNAL_NAME
    if not path.is_file():
        print(
            f"vigie: alarm journal {path} not found; check --data-dir", file=sys.stderr
        )
        return EXIT_FAILED

    catalog = build_catalog(config, {}, start)
    areas = {
        alarm.id: (alarm.area, alarm.priority) for alarm in catalog.alarms.values()
    }
    conn = sqlite3.connect(path)
    try:
        migrate(conn, path)
        report = build_report(conn, start, end, args.area, areas, config.alarms)
    except sqlite3.Error as err:
        print(f"vigie: alarm journal {path} cannot be read: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        conn.close()

    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(format_table(report))
    return EXIT_OK
