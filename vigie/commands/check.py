"""`vigie check`: validate the configuration and list what it declares."""

from vigie.commands import EXIT_OK, add_config_options


def register(commands) -> None:
    parser = commands.add_parser(
        "check", help="validate the configuration and print what it declares"
    )
    add_config_options(parser)
    parser.set_defaults(handler=run, needs_config=True)


def run(args) -> int:
    config = args.config_model
    tags = config.tag_names()
    print(f"Configuration valid: {len(config.devices)} devices, {len(tags)} tags.")
    for device in config.devices:
        print(f"  {device.name:<12} {device.protocol:<11} {len(device.tags)} tags")
    return EXIT_OK
