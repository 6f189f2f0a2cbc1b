"""WSGI server for the dashboard, run in a daemon thread."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 5.0


class _QuietRequestHandler(WSGIRequestHandler):
    """Skips werkzeug's access log line, because every refresh is a request."""

    def log_request(self, code="-", size="-") -> None:
        pass


class DashboardServer:
    """Handle of a running dashboard server. ``port`` is the port actually bound."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.host = server.server_address[0]
        self.port = server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        """Stop serving and wait for the server thread. A second call does nothing."""
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._thread.join(SHUTDOWN_TIMEOUT_S)
        self._server.server_close()
        if self._thread.is_alive():
            logger.warning(
                "Dashboard server on %s did not stop within %.0f s",
                self.url,
                SHUTDOWN_TIMEOUT_S,
            )
        else:
            logger.info("Dashboard server on %s stopped", self.url)


def serve(app, host: str, port: int) -> DashboardServer:
    """Start serving ``app`` on host and port (0 picks a free port) in a thread."""
    server = make_server(
        host, port, app.server, threaded=True, request_handler=_QuietRequestHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, name="dashboard-server", daemon=True
    )
    thread.start()

    handle = DashboardServer(server, thread)
    logger.info("Dashboard server listening on %s", handle.url)
    return handle
