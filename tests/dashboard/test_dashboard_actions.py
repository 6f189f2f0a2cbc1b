"""Shelve, unshelve and service actions on a real alarm engine, and how the alarm
list shows them, without a browser."""

import sqlite3

from dashboard import ids
from dashboard.alarm_actions import run_action
from dashboard.alarm_list import alarm_count, render_alarm_list
from dashboard.formatting import operator_status
from tests.dashboard.test_dashboard_render import find
from tests.dashboard.scripted_view import COMM_ALARM, HIGH_ALARM, SITE_TIMEZONE

# 2024-12-04 13:46:40 UTC, 14:46:40 in Casablanca.
NOW = 1733320000.0


def listed(status) -> list[str]:
    listing = render_alarm_list(status, SITE_TIMEZONE)
    if isinstance(listing.children, str):
        return []
    return [getattr(row, "data-alarm") for row in listing.children[1].children]


def journal_rows(path, alarm_id):
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT from_state, to_state, user, reason FROM journal"
            " WHERE alarm_id = ? ORDER BY id",
            (alarm_id,),
        ).fetchall()


def test_shelve_hides_alarm(view, tmp_path):
    view.clock = lambda: NOW

    message = run_action(view, "shelve", HIGH_ALARM, "sensor work", 3600)

    assert message == f"{HIGH_ALARM} shelved by operator for 1 h: sensor work"
    assert listed(view.status()) == [COMM_ALARM]
    assert listed(view.status(include_hidden=True)) == [HIGH_ALARM, COMM_ALARM]
    assert journal_rows(tmp_path / "alarms.sqlite", HIGH_ALARM)[-1] == (
        "unack_active",
        "shelved",
        "operator",
        "shelved for 3600 s: sensor work",
    )


def test_returned_alarm_counts_as_unacknowledged_only():
    status = {
        "alarms": [
            {"id": "a", "state": "unack_active", "status": "unack_active"},
            {"id": "b", "state": "ack_active", "status": "ack_active"},
            {"id": "c", "state": "unack_rtn", "status": "unack_rtn"},
            {"id": "d", "state": "normal", "status": "normal"},
        ]
    }

    assert alarm_count(status, False, True) == "2 active, 2 unacknowledged"


def test_shelved_row_shows_who_until_why(view):
    view.clock = lambda: NOW
    run_action(view, "shelve", HIGH_ALARM, "sensor work", 900)

    status = view.status(include_hidden=True)
    listing = render_alarm_list(status, SITE_TIMEZONE)

    cell = find(listing, ids.alarm_cell("status", HIGH_ALARM))
    assert cell.children == "Shelved until 15:01 by operator: sensor work"
    row = find(listing, ids.alarm_cell("row", HIGH_ALARM))
    assert getattr(row, "data-status") == "shelved"
    assert find(listing, ids.action_button("unshelve", HIGH_ALARM)) is not None
    assert find(listing, ids.action_button("shelve", HIGH_ALARM)) is None
    assert find(listing, ids.ack_button(HIGH_ALARM)) is None
    assert alarm_count(status, True, True) == "1 active, 1 unacknowledged, 1 hidden"


def test_unshelve_shows_alarm_again(view):
    run_action(view, "shelve", HIGH_ALARM, "sensor work", 900)

    message = run_action(view, "unshelve", HIGH_ALARM)

    assert message == f"{HIGH_ALARM} unshelved by operator, now unack_active"
    assert listed(view.status()) == [HIGH_ALARM, COMM_ALARM]


def test_unshelve_refused_when_not_shelved(view):
    message = run_action(view, "unshelve", HIGH_ALARM)

    assert message == (
        f"Unshelve of {HIGH_ALARM} rejected: cannot unshelve {HIGH_ALARM}: it is not"
        " shelved"
    )


def test_shelve_needs_reason(view):
    message = run_action(view, "shelve", HIGH_ALARM, "  ", 900)

    assert message == f"Shelve of {HIGH_ALARM} needs a reason"
    assert listed(view.status()) == [HIGH_ALARM, COMM_ALARM]


def test_out_of_service_and_back(view):
    taken = run_action(view, "out_of_service", COMM_ALARM, "RTU replaced")
    status = view.status(include_hidden=True)
    refused = run_action(view, "shelve", COMM_ALARM, "again", 900)
    returned = run_action(view, "return_to_service", COMM_ALARM, "RTU back")

    assert taken == f"{COMM_ALARM} taken out of service by operator: RTU replaced"
    listing = render_alarm_list(status, SITE_TIMEZONE)
    assert find(listing, ids.alarm_cell("status", COMM_ALARM)).children == (
        "Out of service by operator: RTU replaced"
    )
    assert find(listing, ids.action_button("return_to_service", COMM_ALARM))
    assert find(listing, ids.action_button("shelve", COMM_ALARM)) is None
    assert refused == (
        f"Shelve of {COMM_ALARM} rejected: cannot shelve {COMM_ALARM}: it is out of"
        " service; return it to service first"
    )
    assert returned == (
        f"{COMM_ALARM} returned to service by operator, now unack_active: RTU back"
    )
    assert listed(view.status()) == [HIGH_ALARM, COMM_ALARM]


def test_operator_status_texts():
    base = {"status": "unack_active", "stale": False}

    assert operator_status(base, "UTC") == ""
    assert operator_status({**base, "stale": True}, "UTC") == "stale"
    assert operator_status({"status": "suppressed", "stale": True}, "UTC") == (
        "Suppressed; stale"
    )
    shelved = {
        "status": "shelved",
        "shelved_until": NOW,
        "shelved_by": "ana",
        "shelve_reason": "drain",
    }
    assert operator_status(shelved, SITE_TIMEZONE) == (
        "Shelved until 14:46 by ana: drain"
    )


def test_stale_alarm_value_marked():
    status = {
        "alarms": [
            {
                "id": "RES1.level.high",
                "tag": "RES1.level",
                "state": "ack_active",
                "status": "ack_active",
                "priority": "low",
                "value": 4.2,
                "stale": True,
                "since": NOW,
            }
        ],
        "tags": [{"name": "RES1.level", "unit": "m"}],
    }
    listing = render_alarm_list(status, "UTC")

    assert find(listing, ids.alarm_cell("value", "RES1.level.high")).children == (
        "4.20 m (stale)"
    )
    assert find(listing, ids.alarm_cell("status", "RES1.level.high")).children == (
        "stale"
    )
    row = find(listing, ids.alarm_cell("row", "RES1.level.high"))
    assert row.className == "alarm-row priority-low state-ack_active stale"
