"""HTTP API on the dashboard's Flask server, for scripts and tests.

POST routes answer 200 with the view's result, 404 for an unknown alarm, 409 when
the alarm refuses the action and 400 for a bad body. GET routes take times in the
forms of ``vigie.times`` (epoch seconds, ISO 8601 in the site's time zone without
an offset, now, or relative such as -1h) and answer 400 with ``{"error": ...}`` for
a bad parameter.
"""

from __future__ import annotations

import logging
import math
import time

import flask

from dashboard.params import (
    ParameterError,
    check_bucket_count,
    parse_duration,
    parse_range,
)
from historian.buckets import AGGREGATES

logger = logging.getLogger(__name__)

HOUR_S = 3600.0
DAY_S = 86400.0


def add_api_routes(server: flask.Flask, view) -> None:
    timezone = view.config.site.timezone
    tags = set(view.config.tag_names())
    max_shelve_s = view.config.alarms.max_shelve_s

    def status():
        try:
            document = view.status()
        except Exception as error:  # noqa: BLE001 - reported to the HTTP client
            logger.error("GET /api/status failed: %s", error)
            return flask.jsonify({"error": f"status unavailable: {error}"}), 503
        return flask.jsonify(document)

    def acknowledge(alarm_id: str):
        body = _body()
        user = str(body.get("user") or "api")
        comment = str(body.get("comment") or "")
        return _command_answer(
            "acknowledge", alarm_id, user, view.acknowledge(alarm_id, user, comment)
        )

    def shelve(alarm_id: str):
        body = _body()
        user = str(body.get("user") or "api")
        try:
            duration_s = _number(body, "duration_s")
            if not 0 < duration_s <= max_shelve_s:
                raise ParameterError(
                    f"invalid duration_s {duration_s:g}: it must be above 0 and at"
                    f" most {max_shelve_s:g} s (alarms.max_shelve_s)"
                )
            reason = _reason(body)
        except ParameterError as error:
            return _bad_request(error, ok=False)
        result = view.shelve(alarm_id, user, duration_s, reason)
        return _command_answer("shelve", alarm_id, user, result)

    def unshelve(alarm_id: str):
        user = str(_body().get("user") or "api")
        return _command_answer(
            "unshelve", alarm_id, user, view.unshelve(alarm_id, user)
        )

    def out_of_service(alarm_id: str):
        body = _body()
        user = str(body.get("user") or "api")
        try:
            reason = _reason(body)
            on = body.get("on", True)
            if not isinstance(on, bool):
                raise ParameterError(f"invalid on {on!r}: expected true or false")
        except ParameterError as error:
            return _bad_request(error, ok=False)
        result = view.set_out_of_service(alarm_id, user, reason, on)
        action = "take out of service" if on else "return to service"
        return _command_answer(action, alarm_id, user, result)

    def report():
        args = flask.request.args
        try:
            start, end = parse_range(args, timezone, time.time(), DAY_S)
        except ParameterError as error:
            return _bad_request(error)
        area = args.get("area") or None
        return flask.jsonify(view.alarm_report(start, end, area))

    def notifications():
        args = flask.request.args
        try:
            start, end = parse_range(args, timezone, time.time(), DAY_S)
        except ParameterError as error:
            return _bad_request(error)
        entries = view.notification_log(
            start, end, args.get("alarm") or None, args.get("recipient") or None
        )
        return flask.jsonify({"from": start, "to": end, "entries": entries})

    def history():
        args = flask.request.args
        tag = args.get("tag", "")
        try:
            if tag not in tags:
                raise ParameterError(
                    f"unknown tag {tag!r}: use a full tag name <device>.<tag>"
                    " from the configuration"
                )
            start, end = parse_range(args, timezone, time.time(), HOUR_S)
            every = args.get("every")
            agg = args.get("agg", "mean")
            if agg not in AGGREGATES:
                raise ParameterError(
                    f"invalid agg {agg!r}: expected one of {', '.join(AGGREGATES)}"
                )
            if every:
                every_s = parse_duration(every, "every")
                check_bucket_count(start, end, every_s)
        except ParameterError as error:
            return _bad_request(error)

        document = {"tag": tag, "from": start, "to": end}
        if not every:
            points = view.history(tag, start, end)
            document["points"] = [list(point) for point in points]
            return flask.jsonify(document)
        points = view.history_aggregate(tag, start, end, every_s, agg)
        document.update(every_s=every_s, agg=agg)
        document["points"] = [list(point) for point in points]
        return flask.jsonify(document)

    server.add_url_rule("/api/status", "api_status", status, methods=["GET"])
    alarm_routes = (
        ("acknowledge", acknowledge),
        ("shelve", shelve),
        ("unshelve", unshelve),
        ("out-of-service", out_of_service),
    )
    for name, handler in alarm_routes:
        server.add_url_rule(
            f"/api/alarms/<path:alarm_id>/{name}",
            f"api_{name.replace('-', '_')}",
            handler,
            methods=["POST"],
        )
    server.add_url_rule("/api/alarms/report", "api_report", report, methods=["GET"])
    server.add_url_rule(
        "/api/notifications", "api_notifications", notifications, methods=["GET"]
    )
    server.add_url_rule("/api/history", "api_history", history, methods=["GET"])
    server.add_url_rule(
        "/api/<path:unknown>", "api_unknown", _unknown_route, methods=["GET", "POST"]
    )
    server.before_request(_guard_commands)


def _unknown_route(unknown: str):
    # Without this rule Dash's catch-all page route would answer 200 with HTML.
    return flask.jsonify({"error": f"no API route /api/{unknown}"}), 404


def _guard_commands():
    """Reject POSTs to the API that a web page on another site could send.

    A page elsewhere can POST form or text bodies to this port without the browser
    asking first, but not JSON, and it cannot fake its Origin header. So commands
    need a JSON object body, and an Origin, when sent, must be this server.
    NOTE: this is no substitute for user accounts, which Vigie does not have yet.
    """
    request = flask.request
    if request.method != "POST" or not request.path.startswith("/api/"):
        return None
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        logger.warning("Rejected POST %s from origin %s", request.path, origin)
        return flask.jsonify(
            {"ok": False, "error": f"origin {origin} not allowed"}
        ), 403
    if not request.is_json:
        return (
            flask.jsonify(
                {
                    "ok": False,
                    "error": "send the body as Content-Type: application/json",
                }
            ),
            415,
        )
    if not request.get_data():
        # No body at all: every field takes its default.
        return None
    body = request.get_json(silent=True)
    if body is None:
        return flask.jsonify(
            {"ok": False, "error": "the body is not valid JSON; send a JSON object"}
        ), 400
    if not isinstance(body, dict):
        return flask.jsonify(
            {"ok": False, "error": "the body must be a JSON object"}
        ), 400
    for key in ("user", "comment"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            return flask.jsonify(
                {"ok": False, "error": f"invalid {key} {body[key]!r}: expected text"}
            ), 400
    return None


def _body() -> dict:
    body = flask.request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _number(body: dict, key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"invalid {key} {value!r}: expected a number of seconds")
    if not math.isfinite(value):
        raise ParameterError(f"invalid {key} {value!r}: it must be finite")
    return float(value)


def _reason(body: dict) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ParameterError("missing reason: give a non-empty reason text")
    return reason


def _bad_request(error: ParameterError, ok: bool | None = None):
    document = {"error": str(error)}
    if ok is not None:
        document = {"ok": ok, **document}
    return flask.jsonify(document), 400


def _command_answer(action: str, alarm_id: str, user: str, result: dict):
    if result.get("ok"):
        logger.info("Alarm %s: %s over HTTP by %s", alarm_id, action, user)
        return flask.jsonify(result)
    code = 404 if "unknown alarm" in result.get("error", "") else 409
    return flask.jsonify(result), code
