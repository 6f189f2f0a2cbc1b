"""Logging set-up shared by every `vigie` command."""

import logging

# Libraries whose INFO lines repeat on every connection or request.
QUIET_LOGGERS = ("asyncua", "pymodbus", "werkzeug", "aiosqlite")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if level != "DEBUG":
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
