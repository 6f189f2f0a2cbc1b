"""`vigie sim`: serve simulated devices only."""

from vigie.commands import EXIT_OK, add_config_options
from vigie.config import Config
from vigie.errors import UsageError, VigieError


def register(commands) -> None:
    parser = commands.add_parser(
        "sim",
        help="run device simulators only",
        description="Serve simulated devices on their configured loopback ports until"
        " Ctrl-C or SIGTERM.",
    )
    add_config_options(parser)
    parser.add_argument(
        "--device",
        action="append",
        metavar="NAME",
        help="simulate only this device (repeatable; default: every device with"
        " 'simulate:')",
    )
    parser.set_defaults(handler=run, needs_config=True)


def simulated_devices(config: Config, names: list[str] | None) -> list:
    """Return the devices named, or every device with 'simulate:' when none is."""
    if names:
        known = {device.name: device for device in config.devices}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise UsageError(
                f"unknown device {unknown[0]!r}; the config declares "
                + ", ".join(sorted(known))
            )
        return [known[name] for name in names]
    return [device for device in config.devices if device.simulate]


def run(args) -> int:
    from vigie.simulators import SimulatorGroup

    devices = simulated_devices(args.config_model, args.device)
    if not devices:
        raise VigieError("no device to simulate: none has 'simulate:' in the config")
    with SimulatorGroup(args.config, [d.name for d in devices]) as group:
        group.wait_ready()
        print(f"Simulating {len(devices)} devices; Ctrl-C stops them.")
        group.wait()
    return EXIT_OK
