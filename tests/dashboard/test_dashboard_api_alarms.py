"""Alarm commands, report, notifications and history over HTTP on a loopback socket."""

import urllib.parse

import pytest

from tests.dashboard.scripted_view import COMM_ALARM, HIGH_ALARM, PRESSURE
from tests.dashboard.test_dashboard_api import get_json, post_json
from vigie.times import TIME_FORMS

# 2024-06-01 10:00:00 UTC, 11:00 in Casablanca (UTC+1 in June).
T0 = 1717236000.0


def alarm_url(served, alarm_id, action):
    return f"{served.url}/api/alarms/{alarm_id}/{action}"


def test_shelve_and_unshelve(served, view):
    body = {"user": "shift lead", "duration_s": 900, "reason": "valve work"}

    shelved = post_json(alarm_url(served, HIGH_ALARM, "shelve"), body)
    unshelved = post_json(alarm_url(served, HIGH_ALARM, "unshelve"), {})
    again = post_json(alarm_url(served, HIGH_ALARM, "unshelve"), {})

    assert shelved == (200, {"ok": True, "state": "shelved"})
    assert unshelved == (200, {"ok": True, "state": "unack_active"})
    assert again[0] == 409
    assert again[1]["error"] == f"cannot unshelve {HIGH_ALARM}: it is not shelved"


def test_shelve_unknown_alarm_404(served):
    body = {"duration_s": 900, "reason": "x"}

    code, document = post_json(alarm_url(served, "NOPE.high", "shelve"), body)

    assert code == 404
    assert document == {"ok": False, "error": "unknown alarm 'NOPE.high'"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"reason": "x"}, "invalid duration_s None: expected a number of seconds"),
        ({"duration_s": "1h", "reason": "x"},
         "invalid duration_s '1h': expected a number of seconds"),
        ({"duration_s": 0, "reason": "x"},
         "invalid duration_s 0: it must be above 0 and at most 28800 s"
         " (alarms.max_shelve_s)"),
        ({"duration_s": 28801, "reason": "x"},
         "invalid duration_s 28801: it must be above 0 and at most 28800 s"
         " (alarms.max_shelve_s)"),
        ({"duration_s": 900}, "missing reason: give a non-empty reason text"),
        ({"duration_s": 900, "reason": " "},
         "missing reason: give a non-empty reason text"),
    ],
)
def test_shelve_bad_body_400(served, body, error):
    code, document = post_json(alarm_url(served, HIGH_ALARM, "shelve"), body)

    assert code == 400
    assert document == {"ok": False, "error": error}


def test_out_of_service_on_off(served, view):
    url = alarm_url(served, COMM_ALARM, "out-of-service")

    taken = post_json(url, {"user": "eng", "reason": "RTU replaced", "on": True})
    twice = post_json(url, {"reason": "RTU replaced", "on": True})
    shelve = post_json(
        alarm_url(served, COMM_ALARM, "shelve"), {"duration_s": 60, "reason": "x"}
    )
    back = post_json(url, {"reason": "done", "on": False})
    bad = post_json(url, {"reason": "done", "on": "yes"})

    assert taken == (200, {"ok": True, "state": "out_of_service"})
    assert twice == (409, {"ok": False,
                           "error": f"alarm {COMM_ALARM} is already out of service"})
    assert shelve[0] == 409
    assert back == (200, {"ok": True, "state": "unack_active"})
    assert bad == (
        400, {"ok": False, "error": "invalid on 'yes': expected true or false"}
    )


def test_report_counts_alarms(served, view):
    view.clock = lambda: T0
    post_json(alarm_url(served, HIGH_ALARM, "acknowledge"), {})
    query = urllib.parse.urlencode({"from": "2000-01-01T00:00:00Z", "to": "2100-01-01"})

    code, report = get_json(f"{served.url}/api/alarms/report?{query}")

    assert code == 200
    assert report["start"] == 946684800.0
    assert report["total"]["alarms"] == 2
    assert report["total"]["priority_mix"]["counts"]["high"] == 2
    # "site" is the area of Vigie's own system alarms, such as an unreachable historian.
    assert sorted(report["areas"]) == ["PS1", "WTP1", "site"]


def test_report_one_area(served):
    query = "from=0&to=4102444800&area=WTP1"

    code, report = get_json(f"{served.url}/api/alarms/report?{query}")

    assert code == 200
    assert list(report["areas"]) == ["WTP1"]
    assert report["total"]["alarms"] == 1


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("from=yesterday", f"invalid from 'yesterday': {TIME_FORMS}"),
        ("from=200&to=100", "invalid range: to (100) must be after from (200)"),
        ("from=nan", f"invalid from 'nan': {TIME_FORMS}"),
    ],
)
def test_report_bad_range_400(served, query, error):
    code, document = get_json(f"{served.url}/api/alarms/report?{query}")

    assert code == 400
    assert document == {"error": error}


def test_notifications_filtered(served, view):
    view.notifications.entries = [
        {"ts": T0, "alarm_id": HIGH_ALARM, "recipient": "ana", "result": "sent"},
        {"ts": T0 + 60, "alarm_id": COMM_ALARM, "recipient": "ana", "result": "sent"},
        {"ts": T0 + 7200, "alarm_id": HIGH_ALARM, "recipient": "ana",
         "result": "failed"},
    ]
    # 11:00 to 12:00 local time in Casablanca, UTC+1.
    query = f"from=2024-06-01T11:00:00&to=2024-06-01T12:00:00&alarm={HIGH_ALARM}"

    code, document = get_json(f"{served.url}/api/notifications?{query}")

    assert code == 200
    assert document["from"] == T0
    assert document["to"] == T0 + 3600
    assert document["entries"] == [view.notifications.entries[0]]


def test_history_raw(served, view):
    code, document = get_json(
        f"{served.url}/api/history?tag={PRESSURE}&from={T0}&to={T0 + 100}"
    )

    assert code == 200
    assert document["points"][0] == [T0, 4.0, 0]
    assert document["points"][5] == [T0 + 50, None, 2]
    assert len(document["points"]) == 11
    assert view.reader.raw_calls == [(PRESSURE, T0, T0 + 100)]


def test_history_aggregate(served, view):
    query = f"tag={PRESSURE}&from={T0}&to={T0 + 3600}&every=15m&agg=max"

    code, document = get_json(f"{served.url}/api/history?{query}")

    assert code == 200
    assert document["every_s"] == 900
    assert document["agg"] == "max"
    assert document["points"][:2] == [[T0, 1.0], [T0 + 900, 1.0]]
    assert view.reader.aggregate_calls == [
        (PRESSURE, T0, T0 + 3600, 900.0, "max", "Africa/Casablanca")
    ]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("tag=PS1.nothing",
         "unknown tag 'PS1.nothing': use a full tag name <device>.<tag> from the"
         " configuration"),
        (f"tag={PRESSURE}&every=soon",
         "invalid every 'soon': expected seconds or a number with s, m, h or d,"
         " such as 60 or 5m"),
        (f"tag={PRESSURE}&every=0", "invalid every '0': it must be positive"),
        (f"tag={PRESSURE}&every=60&agg=median",
         "invalid agg 'median': expected one of mean, min, max, last, count"),
        (f"tag={PRESSURE}&from=0&to=86400000&every=1",
         "every=1 s gives 86400000 buckets over this range, more than 100000; use a"
         " longer interval or a shorter range"),
    ],
)
def test_history_bad_parameters_400(served, view, query, error):
    code, document = get_json(f"{served.url}/api/history?{query}")

    assert code == 400
    assert document == {"error": error}
    assert view.reader.raw_calls == []
