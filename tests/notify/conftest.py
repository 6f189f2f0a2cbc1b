"""Local receivers for the notification tests: an SMTP server and an HTTP server."""

from __future__ import annotations

import email
import email.policy

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.ports import free_port


class MailBox:
    """aiosmtpd handler that keeps every received message."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """Yield (port, mailbox) of an SMTP server on 127.0.0.1."""
    mailbox = MailBox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


class HttpReceiver:
    """Records every request; answers with the queued statuses, then 200."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[dict] = []
        self.statuses: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        self.requests.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": dict(request.headers),
                "body": await request.text(),
                "status": status,
            }
        )
        return web.Response(status=status, text="ok" if status == 200 else "busy")


@pytest.fixture
async def http_receiver():
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    receiver.port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", receiver.port)
    await site.start()
    yield receiver
    await runner.cleanup()
