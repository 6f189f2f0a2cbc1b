"""`vigie run`: simulators, collectors, historian, alarms and dashboard together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import socket
from pathlib import Path

from vigie.commands import EXIT_FAILED, EXIT_OK, add_config_options
from vigie.commands.sim import simulated_devices
from vigie.config import Config
from vigie.errors import VigieError

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
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"seconds must be a finite number greater than 0, got {text}"
        )
    return value


def run(args) -> int:
    from vigie.simulators import SimulatorGroup

    config: Config = args.config_model
    _prepare_data_dir(Path(config.data_dir))
    if args.no_dashboard:
        config = config.model_copy(
            update={"dashboard": config.dashboard.model_copy(update={"enabled": False})}
        )
    elif config.dashboard.enabled:
        _check_port_free(config.dashboard.host, config.dashboard.port)
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
            summary = asyncio.run(
                run_runtime(config, args.duration, on_force_exit=group.kill)
            )
            # The loop restored the default SIGTERM action when it closed; the stop
            # is already under way, so a late signal must not kill it halfway.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
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


def _prepare_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise VigieError(
            f"data directory {path} cannot be used: {err.strerror or err}; pass a"
            " writable folder with --data-dir or data_dir"
        ) from None


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The WSGI server sets SO_REUSEADDR too, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise VigieError(
                f"dashboard cannot listen on {host}:{port}: {err.strerror}; stop the"
                " process that uses the port or set dashboard.port in the config"
            ) from None


async def run_runtime(config: Config, duration: float | None, on_force_exit=None):
    """Run the runtime until SIGINT, SIGTERM or ``duration`` seconds.

    A second signal exits at once without a clean stop, after ``on_force_exit``
    (which kills the simulators)."""
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
            if on_force_exit is not None:
                on_force_exit()
            os._exit(EXIT_FAILED)
        log.info("Received %s, stopping", signal.strsignal(signum))
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)
    if duration is not None:
        loop.call_later(duration, stop.set)

    runtime = Runtime(config)
    return await runtime.run(stop)
