"""Historian: stores every sample in SQLite or InfluxDB and reads history back.

``make_writer(config)`` and ``make_reader(config)`` choose the backend from
``config.historian.backend``. Both readers offer ``query_raw`` and
``query_aggregate``.
"""

from __future__ import annotations

from historian.kinds import tag_kinds
from historian.quarantine import Quarantine, quarantine_path
from vigie.config import Config

BYTES_PER_MB = 1024 * 1024


def make_writer(config: Config):
    """Build the HistorianWriter of the configured backend; call start() next."""
    settings = config.historian
    common = {
        "retry_min_s": settings.retry_min_s,
        "retry_max_s": settings.retry_max_s,
        "quarantine": Quarantine(quarantine_path(config.data_dir)),
    }
    if settings.backend == "influxdb":
        from historian.influx_store import InfluxWriter
        from historian.spool import Spool, spool_path

        spool = Spool(
            spool_path(config.data_dir),
            max_bytes=int(settings.spool.max_mb * BYTES_PER_MB),
            max_samples=settings.spool.max_samples,
        )
        return InfluxWriter(
            settings.influxdb,
            settings.batch_size,
            settings.flush_interval_s,
            kinds=tag_kinds(config),
            spool=spool,
            gzip_level=settings.influxdb.gzip_level,
            **common,
        )

    from historian.sqlite_store import SqliteWriter, history_path

    return SqliteWriter(
        history_path(config.data_dir),
        settings.batch_size,
        settings.flush_interval_s,
        kinds=tag_kinds(config),
        retention=settings.retention,
        **common,
    )


def make_reader(config: Config):
    """Build the synchronous, thread-safe HistoryReader of the configured backend."""
    settings = config.historian
    if settings.backend == "influxdb":
        from historian.influx_reader import InfluxReader

        return InfluxReader(settings.influxdb, kinds=tag_kinds(config))

    from historian.sqlite_reader import SqliteReader
    from historian.sqlite_store import history_path

    return SqliteReader(history_path(config.data_dir))
