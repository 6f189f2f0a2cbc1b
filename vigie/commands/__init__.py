"""Subcommands of `vigie`, one module each.

Each module exposes ``register(commands)``, which adds its argparse subparser and sets
``handler`` to a function ``handler(args) -> int`` (the exit status). Commands that
need the configuration set ``needs_config=True``; they get ``args.config_model``.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def add_config_options(parser) -> None:
    """Add --config and --log-level, taken by every command that reads the config."""
    parser.add_argument(
        "--config",
        default="config.yaml",
        metavar="PATH",
        help="configuration file (default: config.yaml in the current folder)",
    )
    add_log_option(parser)


def add_log_option(parser) -> None:
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: INFO)",
    )
