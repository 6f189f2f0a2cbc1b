"""Serve one simulated device: python -m device_sims --config FILE --device NAME."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
import time

from device_sims.control import start_control_server
from device_sims.modbus_sim import ModbusSimulator
from device_sims.opcua_sim import OpcUaSimulator
from device_sims.points import PointSource
from vigie.config import ModbusDevice, load_config
from vigie.errors import ConfigError

log = logging.getLogger("device_sims")

EXIT_START_FAILED = 1
EXIT_USAGE = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m device_sims",
        description="Serve one device of a Vigie config from the network model.",
    )
    parser.add_argument("--config", required=True, help="path of config.yaml")
    parser.add_argument("--device", required=True, help="device name in the config")
    parser.add_argument(
        "--control-port",
        type=int,
        help="loopback TCP port for JSON force/release requests (default: none)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: INFO)",
    )
    return parser.parse_args(argv)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_device(config_path: str, name: str):
    """Return the named device of the config. Raises ConfigError if it cannot run."""
    config = load_config(config_path)
    devices = {device.name: device for device in config.devices}
    if name not in devices:
        raise ConfigError(
            f"{config_path}: device {name!r} not found; devices: {', '.join(devices)}"
        )
    device = devices[name]
    if device.simulate is None:
        raise ConfigError(
            f"{config_path}: device {name!r} has no 'simulate' key; add one of"
            " pumping_station, reservoir, power_meter, treatment_plant"
        )
    if not is_loopback(device.host):
        raise ConfigError(
            f"{config_path}: device {name!r} address {device.host!r} is not loopback;"
            " simulators bind only to 127.0.0.1"
        )
    return device


class StopDuringStart(Exception):
    """Signal SIGTERM or SIGINT, received while the simulator was starting."""


def _stop_during_start(signum, _frame) -> None:
    # asyncua takes seconds to load its address space, and a stop event set by an
    # event-loop signal handler would be checked only after that.
    raise StopDuringStart(signal.Signals(signum).name)


async def serve(device, control_port: int | None) -> None:
    """Serve ``device`` until SIGTERM or SIGINT, updating its points every second.

    A signal during start-up interrupts it at once, and the simulator stops without
    having listened.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_during_start)

    source = PointSource(device.simulate)
    if isinstance(device, ModbusDevice):
        simulator = ModbusSimulator(device, source)
        where = f"modbus tcp {device.host}:{device.port} unit {device.unit_id}"
    else:
        simulator = OpcUaSimulator(device, source)
        where = f"opc ua {device.endpoint}"

    # The control port opens first: once the device port accepts, forcing works.
    control = None
    if control_port is not None:
        control = await start_control_server(source, control_port, simulator.refresh)
        control_port = control.sockets[0].getsockname()[1]

    try:
        log.info("%s simulator starting", device.name)
        try:
            await simulator.start()
        except StopDuringStart as err:
            log.info("%s simulator stopping: %s during start-up", device.name, err)
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "%s simulator (%s) listening on %s, control port %s",
            device.name,
            device.simulate,
            where,
            control_port if control_port is not None else "off",
        )
        while not stop.is_set():
            await simulator.refresh()
            # Wake at the next whole second, so every process samples the same step.
            try:
                await asyncio.wait_for(stop.wait(), 1.0 - time.time() % 1.0)
            except TimeoutError:
                pass
        log.info("%s simulator stopping", device.name)
    finally:
        if control is not None:
            control.close()
            await control.wait_closed()
        await simulator.stop()
    log.info("%s simulator stopped", device.name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # asyncua logs about a thousand INFO lines while it loads its address space.
    if logging.getLogger().level < logging.WARNING:
        logging.getLogger("asyncua").setLevel(logging.WARNING)
    # pymodbus logs each client that drops mid-request at ERROR, with a dump of the
    # last raw frames of every connection; for a simulator that is the test, not a
    # fault. --log-level DEBUG shows them.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        device = find_device(args.config, args.device)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.control_port is not None and not 0 <= args.control_port <= 65535:
        print(f"error: invalid --control-port {args.control_port}", file=sys.stderr)
        return EXIT_USAGE

    try:
        asyncio.run(serve(device, args.control_port))
    except StopDuringStart as err:
        # The signal came outside the simulator's own start, in the event loop.
        log.info("%s simulator stopped: %s during start-up", device.name, err)
        return 0
    except OSError as err:
        log.error("%s simulator failed to start: %s", device.name, err)
        return EXIT_START_FAILED
    except RuntimeError as err:
        # pymodbus raises RuntimeError when it cannot listen, e.g. the port is taken.
        log.error("%s simulator failed to start: %s", device.name, err)
        return EXIT_START_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
