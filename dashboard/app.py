"""Dash application: page layout, callbacks and the /api/status endpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask

from dashboard.callbacks import register_callbacks
from dashboard.layout import build_layout

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"


def create_app(view) -> dash.Dash:
    """Build the dashboard for a RuntimeView-like object.

    ``view`` needs ``config``, ``status()``, ``acknowledge(alarm_id, user)`` and
    ``history(tag, start, end)``, all thread-safe, because the WSGI server calls
    them from its request threads.
    """
    config = view.config
    app = dash.Dash(
        __name__,
        title=config.site.name,
        update_title=None,
        # The control room has no internet access: Dash and plotly scripts come
        # from the installed packages, never from a CDN.
        serve_locally=True,
        assets_folder=str(ASSETS),
    )
    app.layout = build_layout(config)
    register_callbacks(app, view)
    _add_status_route(app.server, view)
    _add_acknowledge_route(app.server, view)
    return app


def _add_status_route(server: flask.Flask, view) -> None:
    def status():
        try:
            document = view.status()
        except Exception as error:  # noqa: BLE001 - reported to the HTTP client
            logger.error("GET /api/status failed: %s", error)
            return flask.jsonify({"error": f"status unavailable: {error}"}), 503
        return flask.jsonify(document)

    server.add_url_rule("/api/status", "api_status", status, methods=["GET"])


def _add_acknowledge_route(server: flask.Flask, view) -> None:
    """Add POST /api/alarms/<id>/acknowledge, with an optional JSON body.

    The body may give ``user`` and ``comment``; the answer is the view's result,
    with status 409 when the alarm needs no acknowledgement and 404 when it is unknown.
    """

    def acknowledge(alarm_id: str):
        body = flask.request.get_json(silent=True) or {}
        user = str(body.get("user") or "api")
        comment = str(body.get("comment") or "")
        result = view.acknowledge(alarm_id, user, comment)
        if result.get("ok"):
            logger.info("Alarm %s acknowledged over HTTP by %s", alarm_id, user)
            return flask.jsonify(result)
        code = 404 if "unknown alarm" in result.get("error", "") else 409
        return flask.jsonify(result), code

    server.add_url_rule(
        "/api/alarms/<path:alarm_id>/acknowledge",
        "api_acknowledge",
        acknowledge,
        methods=["POST"],
    )
