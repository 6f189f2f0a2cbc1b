"""GET /api/status and the server handle, over a real loopback socket."""

import json
import socket
import urllib.error
import urllib.request

import pytest


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_status_returns_view_document(served, view):
    view.clock = lambda: 1733320000.0

    code, document = get_json(f"{served.url}/api/status")

    assert code == 200
    assert view.reads == 1
    view.reads = 0
    expected = view.status()
    assert document == expected
    assert document["tags"][1]["value"] == 6.61
    assert document["alarms"][1]["state"] == "unack_active"


def test_status_failure_returns_503(served, view):
    view.fail_status = RuntimeError("runtime stopped")

    code, document = get_json(f"{served.url}/api/status")

    assert code == 503
    assert document == {"error": "status unavailable: runtime stopped"}


def test_page_uses_no_cdn(served):
    with urllib.request.urlopen(f"{served.url}/", timeout=10) as response:
        page = response.read().decode()

    assert "/_dash-component-suites/dash/dash-renderer/" in page
    assert "/assets/vigie.css" in page
    assert "https://" not in page
    assert "<title>Test network</title>" in page


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_acknowledge_over_http(served, view):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"

    code, document = post_json(url, {"user": "shift lead"})

    assert code == 200
    assert document == {"ok": True, "state": "ack_active"}
    assert view.ack_calls == [("PS1.discharge_pressure.high", "shift lead")]


def test_acknowledge_twice_returns_409(served, view):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"
    post_json(url, {})

    code, document = post_json(url, {})

    assert code == 409
    assert document["ok"] is False
    assert view.ack_calls[0][1] == "api"


def test_acknowledge_unknown_alarm_returns_404(served):
    code, document = post_json(f"{served.url}/api/alarms/NOPE.high/acknowledge", {})

    assert code == 404
    assert document == {"ok": False, "error": "unknown alarm 'NOPE.high'"}


def test_shutdown_closes_port(served):
    served.shutdown()
    served.shutdown()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", served.port), timeout=5)


def post_raw(url: str, data: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_post_from_other_origin_rejected(served, view):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"
    headers = {"Content-Type": "application/json", "Origin": "http://evil.example"}

    code, document = post_raw(url, b"{}", headers)

    assert code == 403
    assert document == {"ok": False, "error": "origin http://evil.example not allowed"}
    assert view.ack_calls == []


def test_post_without_json_rejected(served, view):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"

    code, document = post_raw(url, b"x", {"Content-Type": "text/plain"})

    assert code == 415
    assert "application/json" in document["error"]
    assert view.ack_calls == []


def test_post_with_list_body_rejected(served):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"

    code, document = post_raw(url, b"[1, 2]", {"Content-Type": "application/json"})

    assert code == 400
    assert document == {"ok": False, "error": "the body must be a JSON object"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"notjson", "the body is not valid JSON; send a JSON object"),
        (b'{"user": ', "the body is not valid JSON; send a JSON object"),
        (b'{"user": 5}', "invalid user 5: expected text"),
        (b'{"comment": ["a"]}', "invalid comment ['a']: expected text"),
    ],
)
def test_post_with_bad_body_rejected(served, view, data, error):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"

    code, document = post_raw(url, data, {"Content-Type": "application/json"})

    assert code == 400
    assert document == {"ok": False, "error": error}
    assert view.ack_calls == []


def test_post_without_body_takes_defaults(served, view):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"

    code, document = post_raw(url, b"", {"Content-Type": "application/json"})

    assert code == 200
    assert document == {"ok": True, "state": "ack_active"}
    assert view.ack_calls == [("PS1.discharge_pressure.high", "api")]


def test_post_from_same_origin_accepted(served):
    url = f"{served.url}/api/alarms/PS1.discharge_pressure.high/acknowledge"
    headers = {"Content-Type": "application/json", "Origin": served.url}

    code, document = post_raw(url, b"{}", headers)

    assert code == 200
    assert document == {"ok": True, "state": "ack_active"}


def test_unknown_api_route_is_404(served):
    code, document = get_json(f"{served.url}/api/nonexistent")

    assert code == 404
    assert document == {"error": "no API route /api/nonexistent"}
