"""`vigie run`: simulators, collectors, historian, alarms and dashboard together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from vigie.commands import EXIT_FAILED, EXIT_OK, add_config_options
from vigie.commands.sim import simulated_devices
from vigie.config import Config

log = logging.getLogger("vigie")


def register(commands) -> None:
    parser = commands.add_parser(
        "run",
        help="start simulators, collectors, historian, alarms and dashboard",
        description="Start the simulators of every device with 'simulate:', then the"
        " collectors, historian, alarm engine and dashboard. Ctrl-C or SIGTERM stops"
        " everything cleanly and prints a summary.",
    )
    add_config_options(parser)
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder for the SQLite historian and alarm journal (overrides data_dir)",
    )
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    parser.add_argument(
        "--no-sim", action="store_true", help="do not start any device simulator"
    )
    parser.add_argument(
        "--no-dashboard", action="store_true", help="do not start the dashboard"
    )
    parser.set_defaults(handler=run, needs_config=True)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid number of seconds: {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be greater than 0, got {text}")
    return value


def run(args) -> int:
    from vigie.simulators import SimulatorGroup

    config: Config = args.config_model
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    if args.no_dashboard:
        config = config.model_copy(
            update={"dashboard": config.dashboard.model_copy(update={"enabled": False})}
        )
    simulated = [] if args.no_sim else simulated_devices(config, None)

    # Until the event loop installs its own handlers, SIGTERM unwinds like Ctrl-C, so
    # the simulators already started are stopped too.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        with SimulatorGroup(
            args.config, [d.name for d in simulated], data_dir=config.data_dir
        ) as group:
            if simulated:
                group.wait_ready()
                log.info("Started %d simulators", len(simulated))
            summary = asyncio.run(run_runtime(config, args.duration))
    except KeyboardInterrupt:
        log.info("Stopped while starting")
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)

    print(summary.format())
    if summary.lost_samples or summary.errors:
        return EXIT_FAILED
    return EXIT_OK


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def run_runtime(config: Config, duration: float | None):
    """Run the runtime until SIGINT, SIGTERM or ``duration`` seconds; a second signal
    exits at once without a clean stop."""
    from vigie.runtime import Runtime

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen = 0

    def request_stop(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            log.warning(
                "Second %s: exiting without a clean stop", signal.strsignal(signum)
            )
            os._exit(EXIT_FAILED)
        log.info("Received %s, stopping", signal.strsignal(signum))
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)
    if duration is not None:
        loop.call_later(duration, stop.set)

    runtime = Runtime(config)
    return await runtime.run(stop)
