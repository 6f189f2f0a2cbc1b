"""Historian: stores every sample in SQLite or InfluxDB and reads raw history back.

``make_writer(config)`` and ``make_reader(config)`` choose the backend from
``config.historian.backend``.
"""

from __future__ import annotations

from vigie.config import Config


def make_writer(config: Config):
    """Build the HistorianWriter of the configured backend; call start() next."""
    settings = config.historian
    if settings.backend == "influxdb":
        from historian.influx_store import InfluxWriter

        return InfluxWriter(
            settings.influxdb, settings.batch_size, settings.flush_interval_s
        )

    from historian.sqlite_store import SqliteWriter, history_path

    return SqliteWriter(
        history_path(config.data_dir), settings.batch_size, settings.flush_interval_s
    )


def make_reader(config: Config):
    """Build the synchronous, thread-safe HistoryReader of the configured backend."""
    settings = config.historian
    if settings.backend == "influxdb":
        from historian.influx_reader import InfluxReader

        return InfluxReader(settings.influxdb)

    from historian.sqlite_store import SqliteReader, history_path

    return SqliteReader(history_path(config.data_dir))
