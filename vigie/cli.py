"""The `vigie` command line.

Exit status: 0 on success, 1 when a command failed or a run lost samples, 2 for an
invalid configuration or invalid arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from vigie import __version__
from vigie.commands import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    alarms,
    check,
    discover,
    history,
    notifications,
    probe,
    run,
    sim,
)
from vigie.config import load_config
from vigie.errors import ConfigError, UsageError, VigieError
from vigie.logs import setup_logging
from vigie.times import join_time_options

# Subcommand modules, in the order `vigie --help` lists them.
COMMANDS = (run, sim, check, probe, discover, history, alarms, notifications)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie",
        description="SCADA for water and electricity distribution networks.",
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # SIGTERM before a command installs its own handling unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("vigie: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader of the output stopped early, as `| head` does. Output still
        # buffered must not raise again when Python flushes it at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(join_time_options(argv))
    setup_logging(getattr(args, "log_level", "INFO"))

    if getattr(args, "needs_config", False):
        try:
            args.config_model = load_config(
                args.config, data_dir=getattr(args, "data_dir", None)
            )
        except ConfigError as err:
            print(f"vigie: invalid configuration: {err}", file=sys.stderr)
            return EXIT_CONFIG

    try:
        return args.handler(args)
    except UsageError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except VigieError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
