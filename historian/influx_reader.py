"""Raw and aggregated history from InfluxDB with InfluxQL, synchronous and
thread-safe: every query is its own HTTP request.

A tag's samples may be in the measurement of float, bool and string tags or in the
one of integer tags (see ``historian.kinds``). Every query reads both, so history
stays whole when a tag's declared type changes.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from historian.buckets import check_aggregate, combine, plan_buckets
from historian.influx_transport import password_of
from historian.influxql import quote_identifier, quote_string
from historian.kinds import measurements, read_back
from historian.timestamps import NS_PER_S, from_ns, to_ns
from vigie.config import InfluxConfig
from vigie.errors import HistorianError

# Partial aggregate columns per aggregate, matching historian.buckets.
STATE_COLUMNS = {
    "mean": 'sum("value"), count("value")',
    "min": 'min("value")',
    "max": 'max("value")',
    "count": 'count("value")',
    "last": 'last("value")',
}


def duration(ns: int) -> str:
    """Return an InfluxQL duration literal for a whole number of nanoseconds."""
    for unit, size in (("s", NS_PER_S), ("ms", 1_000_000), ("u", 1000)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


class InfluxReader:
    def __init__(
        self, settings: InfluxConfig, kinds: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.kinds = kinds or {}
        self.base_url = settings.url.rstrip("/")
        self._headers = {}
        if settings.username:
            credentials = f"{settings.username}:{password_of(settings)}"
            token = base64.b64encode(credentials.encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def _sources(self) -> str:
        return ", ".join(
            quote_identifier(name) for name in measurements(self.settings.measurement)
        )

    def query_raw(self, tag: str, start: float, end: float) -> list[tuple]:
        """Return (ts seconds, value, quality) of one tag with start <= ts <= end.

        The value has its tag's declared kind (bool, int, float or str), or is None.
        A tag without a declared kind reads numbers and bools back as floats.
        """
        statement = (
            f'SELECT "value", "text", "quality" FROM {self._sources()}'
            f' WHERE "tag" = {quote_string(tag)}'
            f" AND time >= {to_ns(start)} AND time <= {to_ns(end)}"
            " ORDER BY time ASC"
        )
        kind = self.kinds.get(tag)
        rows = []
        for series in self._query(statement).get("series", []):
            for ts, value, text, quality in series["values"]:
                # InfluxDB returns a float field with an integral value as 3.
                value = text if text is not None else read_back(value, kind)
                rows.append((ts, value, quality))
        rows.sort(key=lambda row: row[0])
        return [(from_ns(ts), value, quality) for ts, value, quality in rows]

    def query_aggregate(
        self,
        tag: str,
        start: float,
        end: float,
        every_s: float,
        agg: str,
        tz: str | None = None,
    ) -> list[tuple[float, float]]:
        """Return (bucket_start_ts, value) of one tag over start <= ts < end.

        Same contract as SqliteReader.query_aggregate. InfluxDB groups by a grid
        that never straddles a bucket edge (an hour for local days in a zone with
        whole-hour offsets) and the local buckets are merged here.
        """
        check_aggregate(agg)
        plan = plan_buckets(to_ns(start), to_ns(end), every_s, tz)
        cell = plan.cell_ns()
        offset = plan.origin_ns % cell
        statement = (
            f"SELECT {STATE_COLUMNS[agg]} FROM {self._sources()}"
            f' WHERE "tag" = {quote_string(tag)} AND "quality" < 2'
            f" AND time >= {plan.start_ns} AND time < {plan.end_ns}"
            f" GROUP BY time({duration(cell)}, {duration(offset)}) fill(none)"
        )
        cells = []
        for series in self._query(statement).get("series", []):
            for ts, *columns in series["values"]:
                cells.append((ts, _state(agg, ts, columns)))
        return combine(plan, agg, cells)

    def close(self) -> None:
        """Do nothing, because the reader keeps no connection open."""

    def _query(self, statement: str) -> dict:
        params = urllib.parse.urlencode(
            {"db": self.settings.database, "q": statement, "epoch": "ns"}
        )
        request = urllib.request.Request(
            f"{self.base_url}/query?{params}", headers=self._headers
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self.settings.timeout_s
            ) as response:
                document = json.load(response)
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace").strip()
            raise HistorianError(
                f"InfluxDB query at {self.base_url} failed with HTTP {err.code}:"
                f" {detail}"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise HistorianError(
                f"InfluxDB query at {self.base_url} failed: {err}"
            ) from err

        result = document["results"][0]
        if "error" in result:
            error = result["error"]
            # A database not created yet contains no history.
            if error.startswith("database not found"):
                return {}
            raise HistorianError(f"InfluxDB query at {self.base_url} failed: {error}")
        return result


def _state(agg: str, ts: int, columns: list):
    if agg == "mean":
        return (columns[0], columns[1]) if columns[1] else None
    if agg == "last":
        return None if columns[0] is None else (ts, columns[0])
    return columns[0]
