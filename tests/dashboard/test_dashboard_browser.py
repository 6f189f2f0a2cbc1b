"""The served dashboard in headless Chromium, driven by the scripted view."""

import re

import pytest
from selenium.webdriver.common.by import By

from dashboard import ids
from tests.browser import wait_for
from tests.dashboard.scripted_view import COMM_ALARM, HIGH_ALARM, PRESSURE

pytestmark = pytest.mark.browser

VALUE_TEXT = re.compile(r"^\d+\.\d\d bar$")
CLOCK_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$")


# The page re-renders its tables on every refresh, so an element found by selenium
# can be replaced before the next call on it. One script reads what a check needs.
READ_JS = """
const element = document.getElementById(arguments[0]);
if (element === null) { return null; }
return {text: element.innerText.trim(), class: element.className,
        data: Object.assign({}, element.dataset),
        displayed: element.offsetParent !== null};
"""


def read(browser, element_id) -> dict:
    found = browser.execute_script(READ_JS, element_id)
    assert found is not None, f"no element with id {element_id!r} on the page"
    return found


def text_of(browser, element_id):
    return read(browser, element_id)["text"]


def open_dashboard(browser, served):
    browser.get(served.url)
    wait_for(lambda: VALUE_TEXT.match(text_of(browser, value_id(PRESSURE))))


def value_id(tag):
    return ids.tag_cell("value", tag)


def test_page_shows_live_values(browser, served, view):
    open_dashboard(browser, served)

    assert text_of(browser, ids.SITE_NAME) == "Test network"
    assert CLOCK_TEXT.match(text_of(browser, ids.CLOCK))
    first = text_of(browser, value_id(PRESSURE))
    second = wait_for(
        lambda: (text := text_of(browser, value_id(PRESSURE))) != first and text
    )
    assert VALUE_TEXT.match(second)
    assert text_of(browser, value_id("PS1.pump1_running")) == "ON"


def test_bad_tag_shown_stale(browser, served):
    open_dashboard(browser, served)

    row = read(browser, ids.tag_cell("row", "WTP1.turbidity"))
    assert row["data"]["stale"] == "true"
    assert row["class"] == "tag-row quality-bad stale"
    assert text_of(browser, value_id("WTP1.turbidity")) == "—"
    assert text_of(browser, ids.tag_cell("quality", "WTP1.turbidity")) == (
        "bad: comm_failure"
    )
    tile = read(browser, ids.device_tile("WTP1"))
    assert tile["data"]["state"] == "disconnected"
    assert tile["class"] == "device-tile not-connected state-disconnected"


def test_acknowledge_button_acknowledges(browser, served, view):
    open_dashboard(browser, served)
    state_id = ids.alarm_cell("state", HIGH_ALARM)
    assert text_of(browser, state_id) == "Active, unacknowledged"
    button = f'tr[data-alarm="{HIGH_ALARM}"] button.ack-button'

    # The alarm list is re-rendered on every refresh, so a click can hit a replaced
    # button; retry until the view has seen the acknowledgement.
    def click():
        if not view.ack_calls:
            browser.find_element(By.CSS_SELECTOR, button).click()
        return view.ack_calls

    wait_for(click)
    wait_for(lambda: text_of(browser, state_id) == "Active, acknowledged")

    assert view.ack_calls == [(HIGH_ALARM, "operator")]
    assert read(browser, state_id)["data"]["state"] == "ack_active"
    assert browser.find_elements(By.CSS_SELECTOR, button) == []
    assert text_of(browser, ids.ACK_RESULT) == (
        f"{HIGH_ALARM} acknowledged by operator, now ack_active"
    )
    comm_button = f'tr[data-alarm="{COMM_ALARM}"] button.ack-button'
    assert len(browser.find_elements(By.CSS_SELECTOR, comm_button)) == 1


def open_tab(browser, name):
    wait_for(lambda: browser.find_element(By.ID, ids.tab(name)).click() or True)
    wait_for(lambda: read(browser, ids.section(name))["displayed"])


def test_trend_draws_gap(browser, served, view):
    open_dashboard(browser, served)
    assert view.history_calls == []
    open_tab(browser, ids.TAB_TRENDS)

    segments = f"#{ids.TREND_GRAPH} .scatterlayer path.js-line"
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, segments))

    # The scripted history has one bad point in the middle, so plotly draws the
    # line as two separate segments.
    assert len(browser.find_elements(By.CSS_SELECTOR, segments)) == 2
    tag, start, end = view.history_calls[0]
    assert tag == PRESSURE
    assert end - start == 3600


def test_status_failure_shows_banner(browser, served, view):
    open_dashboard(browser, served)
    assert read(browser, ids.STATUS_BANNER)["displayed"] is False

    view.fail_status = RuntimeError("runtime stopped")
    banner = wait_for(
        lambda: (found := read(browser, ids.STATUS_BANNER))["displayed"] and found
    )
    assert banner["text"] == (
        "Status unavailable, values below are not current: runtime stopped"
    )
    assert read(browser, ids.CONTENT)["class"] == "content stale-all"

    view.fail_status = None
    wait_for(lambda: not read(browser, ids.STATUS_BANNER)["displayed"])
    assert read(browser, ids.CONTENT)["class"] == "content"


def test_server_loss_shows_banner(browser, served):
    open_dashboard(browser, served)
    assert read(browser, ids.LINK_BANNER)["displayed"] is False

    served.shutdown()

    banner = wait_for(
        lambda: (found := read(browser, ids.LINK_BANNER))["displayed"] and found
    )
    assert banner["text"] == (
        "Connection to the Vigie server lost: values below are not updated."
    )
    assert read(browser, ids.PAGE)["class"] == "page link-lost"


def test_shelve_hides_then_show_hidden(browser, served, view):
    open_dashboard(browser, served)
    row = f'tr[data-alarm="{HIGH_ALARM}"]'
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, row))

    # The list is redrawn on every refresh, so click until the reason panel opens.
    def open_panel():
        if not read(browser, ids.ACTION_PANEL)["displayed"]:
            browser.find_element(By.CSS_SELECTOR, f"{row} button.shelve-button").click()
        return read(browser, ids.ACTION_PANEL)["displayed"]

    wait_for(open_panel)
    assert text_of(browser, ids.ACTION_TITLE) == f"Shelve {HIGH_ALARM}"
    one_hour = f"#{ids.SHELVE_DURATION} input[value='3600']"
    browser.find_element(By.CSS_SELECTOR, one_hour).click()
    browser.find_element(By.ID, ids.ACTION_REASON).send_keys("transmitter swap")
    browser.find_element(By.ID, ids.ACTION_CONFIRM).click()

    wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, row))
    assert text_of(browser, ids.ACK_RESULT) == (
        f"{HIGH_ALARM} shelved by operator for 1 h: transmitter swap"
    )
    assert read(browser, ids.ACTION_PANEL)["displayed"] is False
    shelved = view.engine.active(include_hidden=True)
    assert [a["status"] for a in shelved if a["id"] == HIGH_ALARM] == ["shelved"]

    browser.find_element(By.CSS_SELECTOR, f"#{ids.SHOW_HIDDEN} input").click()
    status_id = ids.alarm_cell("status", HIGH_ALARM)
    cell = wait_for(lambda: read(browser, status_id))
    assert re.match(
        r"^Shelved until \d\d:\d\d by operator: transmitter swap$", cell["text"]
    )
    assert cell["data"]["status"] == "shelved"


def test_trend_seven_days_draws_band(browser, served, view):
    open_dashboard(browser, served)
    open_tab(browser, ids.TAB_TRENDS)

    seven_days = f"#{ids.TREND_RANGE} input[value='7d']"
    browser.find_element(By.CSS_SELECTOR, seven_days).click()

    fills = f"#{ids.TREND_GRAPH} .scatterlayer path.js-fill"
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, fills))
    assert text_of(browser, ids.TREND_NOTE) == (
        "Line: mean per 15 min; shaded band: min to max per 15 min"
    )
    widths = {call[3] for call in view.reader.aggregate_calls}
    assert widths == {900}


def test_devices_tab_shows_disconnected(browser, served, view):
    view.historian.update(unreachable=True, backlog=42)
    open_dashboard(browser, served)
    open_tab(browser, ids.TAB_DEVICES)

    tile = read(browser, ids.device_tile("WTP1"))
    assert tile["displayed"] is True
    assert tile["data"]["state"] == "disconnected"
    assert "Last error: connection refused" in tile["text"]
    assert "clock_skew 2" in tile["text"]
    warning = browser.find_element(By.CSS_SELECTOR, ".historian-warning").text
    assert warning == (
        "Historian unreachable: samples wait in the backlog (42) until it answers"
        " again"
    )
