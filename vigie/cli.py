"""The `vigie` command line.

Exit status: 0 on success, 1 when a run failed or lost samples, 2 for invalid
configuration or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from vigie import __version__
from vigie.config import Config, load_config
from vigie.errors import ConfigError, VigieError
from vigie.logs import setup_logging

log = logging.getLogger("vigie")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie",
        description="SCADA for water and electricity distribution networks.",
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            default="config.yaml",
            metavar="PATH",
            help="configuration file (default: config.yaml in the current folder)",
        )
        sub.add_argument(
            "--log-level",
            default="INFO",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="log level (default: INFO)",
        )

    run = commands.add_parser(
        "run",
        help="start simulators, collectors, historian, alarms and dashboard",
        description="Start the simulators of every device with 'simulate:', then the"
        " collectors, historian, alarm engine and dashboard. Ctrl-C or SIGTERM stops"
        " everything cleanly and prints a summary.",
    )
    common(run)
    run.add_argument(
        "--data-dir",
        metavar="PATH",
        help="folder for the SQLite historian and alarm journal (overrides data_dir)",
    )
    run.add_argument(
        "--duration",
        type=_positive_seconds,
        metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    run.add_argument(
        "--no-sim", action="store_true", help="do not start any device simulator"
    )
    run.add_argument(
        "--no-dashboard", action="store_true", help="do not start the dashboard"
    )

    sim = commands.add_parser(
        "sim",
        help="run device simulators only",
        description="Serve simulated devices on their configured loopback ports until"
        " Ctrl-C or SIGTERM.",
    )
    common(sim)
    sim.add_argument(
        "--device",
        action="append",
        metavar="NAME",
        help="simulate only this device (repeatable; default: every device with"
        " 'simulate:')",
    )

    check = commands.add_parser(
        "check", help="validate the configuration and print what it declares"
    )
    common(check)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be greater than 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)

    try:
        config = load_config(args.config, data_dir=getattr(args, "data_dir", None))
    except ConfigError as err:
        print(f"vigie: invalid configuration: {err}", file=sys.stderr)
        return EXIT_CONFIG

    try:
        if args.command == "check":
            return _check(config)
        if args.command == "sim":
            return _sim(args, config)
        return _run(args, config)
    except VigieError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return EXIT_FAILED


def _check(config: Config) -> int:
    tags = config.tag_names()
    print(f"Configuration valid: {len(config.devices)} devices, {len(tags)} tags.")
    for device in config.devices:
        print(f"  {device.name:<12} {device.protocol:<11} {len(device.tags)} tags")
    return EXIT_OK


def _simulated(config: Config, names: list[str] | None) -> list:
    if names:
        known = {device.name: device for device in config.devices}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise VigieError(
                f"unknown device {unknown[0]!r}; the config declares "
                + ", ".join(sorted(known))
            )
        return [known[name] for name in names]
    return [device for device in config.devices if device.simulate]


def _sim(args, config: Config) -> int:
    from vigie.simulators import SimulatorGroup

    devices = _simulated(config, args.device)
    if not devices:
        raise VigieError("no device to simulate: none has 'simulate:' in the config")
    with SimulatorGroup(args.config, [d.name for d in devices]) as group:
        group.wait_ready()
        print(f"Simulating {len(devices)} devices; Ctrl-C stops them.")
        group.wait()
    return EXIT_OK


def _run(args, config: Config) -> int:
    from vigie.simulators import SimulatorGroup

    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    if args.no_dashboard:
        config = config.model_copy(
            update={"dashboard": config.dashboard.model_copy(update={"enabled": False})}
        )
    simulated = [] if args.no_sim else _simulated(config, None)

    with SimulatorGroup(
        args.config, [d.name for d in simulated], data_dir=config.data_dir
    ) as group:
        if simulated:
            group.wait_ready()
            log.info("Started %d simulators", len(simulated))
        summary = asyncio.run(_run_runtime(config, args.duration))

    print(summary.format())
    if summary.backlog or summary.errors:
        return EXIT_FAILED
    return EXIT_OK


async def _run_runtime(config: Config, duration: float | None):
    from vigie.runtime import Runtime

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen = 0

    def request_stop(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            log.warning("Second %s: exiting without a clean stop", signal.strsignal(signum))
            os._exit(EXIT_FAILED)
        log.info("Received %s, stopping", signal.strsignal(signum))
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)
    if duration is not None:
        loop.call_later(duration, stop.set)

    runtime = Runtime(config)
    return await runtime.run(stop)


if __name__ == "__main__":
    sys.exit(main())
