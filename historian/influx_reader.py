"""Raw history from InfluxDB with InfluxQL, synchronous so any thread may call it."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from historian.influx_store import password_of
from historian.influxql import quote_identifier, quote_string
from historian.timestamps import from_ns, to_ns
from vigie.config import InfluxConfig
from vigie.errors import HistorianError


class InfluxReader:
    """Thread-safe: every query is its own HTTP request."""

    def __init__(self, settings: InfluxConfig) -> None:
        self.settings = settings
        self.base_url = settings.url.rstrip("/")
        self._headers = {}
        if settings.username:
            credentials = f"{settings.username}:{password_of(settings)}"
            token = base64.b64encode(credentials.encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def query_raw(self, tag: str, start: float, end: float) -> list[tuple]:
        """Return (ts seconds, value, quality) of one tag with start <= ts <= end.

        The value is a float for numbers and bools, a str for strings, or None.
        """
        statement = (
            f'SELECT "value", "text", "quality"'
            f" FROM {quote_identifier(self.settings.measurement)}"
            f' WHERE "tag" = {quote_string(tag)}'
            f" AND time >= {to_ns(start)} AND time <= {to_ns(end)}"
            " ORDER BY time ASC"
        )
        result = self._query(statement)
        rows = []
        for series in result.get("series", []):
            for ts, value, text, quality in series["values"]:
                if text is not None:
                    value = text
                elif value is not None:
                    # InfluxDB returns a float field with an integral value as 3.
                    value = float(value)
                rows.append((from_ns(ts), value, quality))
        return rows

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
            raise HistorianError(
                f"InfluxDB query at {self.base_url} failed: {result['error']}"
            )
        return result
