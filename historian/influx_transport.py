"""HTTP transports of the InfluxDB writer: the v1 ``/write`` API and the v2 API.

Both take a list of line-protocol lines and return ``(status, message,
retry_after_s)``, so the writer handles every response the same way. Network errors
and timeouts are raised as they come.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os

import aiohttp

from historian.influxql import quote_identifier
from vigie.config import InfluxConfig
from vigie.errors import HistorianError

logger = logging.getLogger(__name__)

# Measured on 5,000 lines (2 shared cores, Python 3.11): level 1 compresses about 8 to 1
# in 2 ms, and gzip's default level 9 about 12 to 1 in 13 ms. Level 0 sends the body
# uncompressed, which saves both ends the work on loopback or a fast LAN.
GZIP_LEVEL = 1
MS_PER_S = 1000


def secret_of(variable: str) -> str:
    """Return the value of the environment variable named in the config, or ''."""
    if not variable:
        return ""
    return os.environ.get(variable, "")


def password_of(settings: InfluxConfig) -> str:
    return secret_of(settings.password_env)


def retry_after_of(value: str | None) -> float | None:
    """Parse a Retry-After header in seconds; an HTTP date is not supported."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def warn_if_unset(variable: str, key: str, url: str) -> None:
    if variable and variable not in os.environ:
        logger.warning(
            "environment variable %s (historian.influxdb.%s) is not set; writing to"
            " %s without it",
            variable,
            key,
            url,
        )


class V1Transport:
    """POST lines to ``/write?db=...&precision=ns``, gzip-compressed unless level 0."""

    def __init__(self, settings: InfluxConfig, gzip_level: int = GZIP_LEVEL) -> None:
        if not 0 <= gzip_level <= 9:
            raise ValueError(f"gzip level {gzip_level} is invalid; use 0 (off) to 9")
        self.settings = settings
        self.gzip_level = gzip_level
        self.base_url = settings.url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self.database_ready = False

    def describe(self) -> str:
        return f"{self.base_url} database {self.settings.database}"

    async def open(self) -> None:
        settings = self.settings
        warn_if_unset(settings.password_env, "password_env", self.base_url)
        auth = None
        if settings.username:
            auth = aiohttp.BasicAuth(settings.username, password_of(settings))
        self._session = aiohttp.ClientSession(
            auth=auth, timeout=aiohttp.ClientTimeout(total=settings.timeout_s)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def prepare(self) -> None:
        """Create the database once; InfluxDB 1.x returns 404 to writes without it."""
        if self.database_ready:
            return
        statement = f"CREATE DATABASE {quote_identifier(self.settings.database)}"
        async with self._open_session().post(
            self.base_url + "/query", data={"q": statement}
        ) as response:
            text = await response.text()
            if response.status != 200 or '"error"' in text:
                raise HistorianError(
                    f"{statement} failed with HTTP {response.status}: {text.strip()}"
                )
        self.database_ready = True
        logger.info(
            "InfluxDB database %s ready at %s", self.settings.database, self.base_url
        )

    def encode(self, lines: list[str]) -> bytes:
        """Build the request body of ``lines``; CPU only, safe in a worker thread."""
        body = "\n".join(lines).encode()
        if self.gzip_level:
            body = gzip.compress(body, self.gzip_level)
        return body

    async def post(self, lines: list[str]) -> tuple[int, str, float | None]:
        body = await asyncio.to_thread(self.encode, lines)
        return await self.post_body(body)

    async def post_body(self, body: bytes) -> tuple[int, str, float | None]:
        """POST a body that ``encode`` built; return (status, message, retry_after)."""
        params = {"db": self.settings.database, "precision": "ns"}
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_level:
            headers["Content-Encoding"] = "gzip"
        async with self._open_session().post(
            self.base_url + "/write", params=params, data=body, headers=headers
        ) as response:
            if response.status == 204:
                return 204, "", None
            message = (await response.text()).strip()
            if response.status == 404 and "database not found" in message:
                self.database_ready = False
            retry_after = retry_after_of(response.headers.get("Retry-After"))
            return response.status, message, retry_after

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise HistorianError(
                f"the InfluxDB historian for {self.base_url} is not started"
            )
        return self._session


class V2Transport:
    """Write through influxdb-client's async write API to ``/api/v2/write``.

    Used for InfluxDB 2.x and 3.x: org, bucket and a token, with precision ns. Any
    gzip level above 0 turns on the library's gzip, at the library's own level. The
    client library does not retry; the writer does.
    """

    def __init__(self, settings: InfluxConfig, gzip_level: int = GZIP_LEVEL) -> None:
        self.settings = settings
        self.gzip_level = gzip_level
        self.base_url = settings.url.rstrip("/")
        self._client = None
        self._write_api = None

    def describe(self) -> str:
        return f"{self.base_url} org {self.settings.org} bucket {self.settings.bucket}"

    async def open(self) -> None:
        from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

        settings = self.settings
        warn_if_unset(settings.token_env, "token_env", self.base_url)
        self._client = InfluxDBClientAsync(
            url=self.base_url,
            token=secret_of(settings.token_env),
            org=settings.org,
            timeout=int(settings.timeout_s * MS_PER_S),
            enable_gzip=self.gzip_level > 0,
        )
        self._write_api = self._client.write_api()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
            self._write_api = None

    async def prepare(self) -> None:
        """Do nothing: the bucket must exist, because the v2 API creates none."""

    def encode(self, lines: list[str]) -> str:
        """Join ``lines`` into the record; the client library compresses it."""
        return "\n".join(lines)

    async def post(self, lines: list[str]) -> tuple[int, str, float | None]:
        return await self.post_body(self.encode(lines))

    async def post_body(self, record: str) -> tuple[int, str, float | None]:
        from influxdb_client.rest import ApiException

        if self._write_api is None:
            raise HistorianError(
                f"the InfluxDB historian for {self.base_url} is not started"
            )
        try:
            await self._write_api.write(
                bucket=self.settings.bucket,
                org=self.settings.org,
                record=record,
                write_precision="ns",
            )
        except ApiException as err:
            headers = err.headers or {}
            message = (err.body or err.reason or "").strip()
            if isinstance(message, bytes):
                message = message.decode(errors="replace")
            return err.status, message, retry_after_of(headers.get("Retry-After"))
        return 204, "", None
