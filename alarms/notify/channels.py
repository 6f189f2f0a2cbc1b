"""Senders for each channel type: e-mail and webhooks through apprise, SMS over HTTP.

SMS gateways get a small aiohttp sender because apprise's json, form and xml
plugins send a fixed, flat payload, while utilities' gateways expect their own
request shape (nested JSON, form fields, XML, a token in a header or the URL).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape

import aiohttp
import apprise

from alarms.notify.messages import Text, fit
from vigie.config.notifications import Channel

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "application/xml",
    "text": "text/plain; charset=utf-8",
}

# Maximum length of a gateway's error reply kept in the log.
MAX_ERROR_CHARS = 200


class SendError(Exception):
    """A failed delivery. The message gives the reason and contains no secret."""


class Sender:
    """Base of the channel senders: ``send`` returns on success, else raises."""

    def __init__(self, name: str, channel: Channel) -> None:
        self.name = name
        self.channel = channel
        self._secret = ""
        self._missing_env = ""

    def _read_secret(self, env: Mapping[str, str], variable: str) -> None:
        if not variable:
            return
        value = env.get(variable)
        if value is None:
            self._missing_env = variable
            log.error(
                "channel %s: environment variable %s is not set; deliveries on"
                " this channel will fail until it is set and Vigie restarts",
                self.name,
                variable,
            )
            return
        self._secret = value

    def _check_secret(self) -> None:
        if self._missing_env:
            raise SendError(f"environment variable {self._missing_env} is not set")

    def _scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
            text = text.replace(quote(self._secret, safe=""), "***")
        return text

    async def send(self, address: str, text: Text) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class AppriseSender(Sender):
    """E-mail (mailto://, mailtos://) and webhooks (json://, form://, xml://)."""

    def __init__(self, name: str, channel: Channel, env: Mapping[str, str]) -> None:
        super().__init__(name, channel)
        self._read_secret(env, channel.password_env)

    async def send(self, address: str, text: Text) -> None:
        self._check_secret()
        notifier = apprise.Apprise()
        if not notifier.add(self._url(address)):
            raise SendError(f"apprise rejected the URL of channel {self.name}")

        if self.channel.type == "email":
            body = text.body
        else:
            body = fit(text.short, self.channel.max_chars)
        result = await notifier.async_notify(
            body=body,
            title=text.title,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self.channel.timeout_s,
        )
        if result.status == apprise.AppriseResultStatus.SUCCESS:
            return

        problems = [
            entry.message
            for entry in result.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        reason = problems[-1] if problems else f"apprise status {result.status.name}"
        raise SendError(self._scrub(reason))

    def _url(self, address: str) -> str:
        if self.channel.type != "email":
            return self.channel.url

        parts = urlsplit(self.channel.url)
        netloc = parts.netloc.rpartition("@")[2]
        if self.channel.username:
            credentials = quote(self.channel.username, safe="")
            if self._secret:
                credentials += ":" + quote(self._secret, safe="")
            netloc = f"{credentials}@{netloc}"
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "to"]
        query.append(("to", address))
        return urlunsplit(
            (parts.scheme, netloc, parts.path, urlencode(query), parts.fragment)
        )


class HttpSmsSender(Sender):
    """An SMS gateway called with the channel's request template."""

    def __init__(self, name: str, channel: Channel, env: Mapping[str, str]) -> None:
        super().__init__(name, channel)
        self._read_secret(env, channel.token_env)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, address: str, text: Text) -> None:
        self._check_secret()
        channel = self.channel
        message = fit(text.short, channel.max_chars)
        values = {"to": address, "message": message, "token": self._secret}

        url = _fill(channel.url, values, lambda v: quote(v, safe=""))
        headers = {
            name: _fill(value, values, str) for name, value in channel.headers.items()
        }
        data = None
        if channel.method != "GET" and channel.body:
            data = _fill(channel.body, values, ESCAPES[channel.body_format])
            data = data.encode("utf-8")
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = CONTENT_TYPES[channel.body_format]

        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=channel.timeout_s)
        try:
            async with self._session.request(
                channel.method, url, headers=headers, data=data, timeout=timeout
            ) as response:
                if 200 <= response.status < 300:
                    return
                reply = (await response.text(errors="replace"))[:MAX_ERROR_CHARS]
                raise SendError(self._scrub(f"HTTP {response.status}: {reply}".strip()))
        except aiohttp.ClientError as err:
            raise SendError(self._scrub(f"{type(err).__name__}: {err}")) from None
        except TimeoutError:
            raise SendError(f"timed out after {channel.timeout_s:g} s") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _escape_json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _escape_xml(value: str) -> str:
    return escape(value, {'"': "&quot;", "'": "&apos;"})


ESCAPES = {
    "json": _escape_json,
    "form": quote_plus,
    "xml": _escape_xml,
    "text": str,
}


def _fill(template: str, values: dict[str, str], escape_value) -> str:
    # Plain replacement, because JSON and XML templates contain braces of their own.
    for name, value in values.items():
        template = template.replace("{" + name + "}", escape_value(value))
    return template


def make_senders(
    channels: Mapping[str, Channel], env: Mapping[str, str] | None = None
) -> dict[str, Sender]:
    """Build one sender per configured channel; secrets come from ``env``."""
    if env is None:
        env = os.environ
    senders: dict[str, Sender] = {}
    for name, channel in channels.items():
        if channel.type == "sms":
            senders[name] = HttpSmsSender(name, channel, env)
        else:
            senders[name] = AppriseSender(name, channel, env)
    return senders
