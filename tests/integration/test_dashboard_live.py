"""The dashboard of a real `vigie run`, in headless Chromium."""

import sqlite3
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from dashboard import ids
from tests.browser import wait_for
from tests.integration.network import all_tags_good, journal
from tests.integration.network import wait_for as wait_for_status

pytestmark = pytest.mark.browser

TEXT_JS = """
const element = document.getElementById(arguments[0]);
return element === null ? null : element.innerText.trim();
"""


def text_of(browser, element_id: str) -> str | None:
    return browser.execute_script(TEXT_JS, element_id)


def test_live_value_acknowledge_and_shelve(browser, network):
    vigie, sims, config = network
    wait_for_status(lambda: all_tags_good(vigie), "every tag good")

    browser.get(vigie.url)
    voltage = ids.tag_cell("value", "FDR1.voltage_l1")
    first = wait_for(
        lambda: (text := text_of(browser, voltage)) and text.endswith(" V") and text
    )
    changed = wait_for(
        lambda: (text := text_of(browser, voltage)) != first and text, timeout_s=30
    )
    assert changed.endswith(" V")

    assert sims["PS1"].control({"force": "discharge_pressure", "value": 7.25})["ok"]
    alarm_id = "PS1.discharge_pressure.high"
    state_cell = ids.alarm_cell("state", alarm_id)
    wait_for(lambda: text_of(browser, state_cell) == "Active, unacknowledged", 30)
    button = f'tr[data-alarm="{alarm_id}"] button.ack-button'

    # The alarm list is redrawn on every refresh, so a click can land on a button
    # that was just replaced; click again until the runtime has the acknowledgement.
    def click_until_acknowledged():
        alarm = vigie.alarm(alarm_id)
        if alarm["state"] == "unack_active":
            browser.find_element(By.CSS_SELECTOR, button).click()
        return alarm["state"] == "ack_active"

    wait_for(click_until_acknowledged, timeout_s=30, interval_s=0.5)
    wait_for(lambda: text_of(browser, state_cell) == "Active, acknowledged", 30)

    assert vigie.alarm(alarm_id)["acked_by"] == "operator"
    assert journal(config["data_dir"], alarm_id) == [
        ("normal", "unack_active", None),
        ("unack_active", "ack_active", "operator"),
    ]
    assert browser.find_elements(By.CSS_SELECTOR, button) == []

    # Shelve the acknowledged alarm through the reason panel.
    def open_panel():
        panel = browser.find_element(By.ID, ids.ACTION_PANEL)
        if not panel.is_displayed():
            browser.find_element(
                By.CSS_SELECTOR, f'tr[data-alarm="{alarm_id}"] button.shelve-button'
            ).click()
        return panel.is_displayed()

    wait_for(open_panel, timeout_s=30, interval_s=0.5)
    assert text_of(browser, ids.ACTION_TITLE) == f"Shelve {alarm_id}"
    browser.find_element(By.ID, ids.ACTION_REASON).send_keys("pressure test")

    # A click can land while the page is busy with a refresh; click until the
    # runtime has shelved the alarm.
    def confirm_until_shelved():
        if vigie.alarm(alarm_id) is not None:
            browser.find_element(By.ID, ids.ACTION_CONFIRM).click()
        return vigie.alarm(alarm_id) is None

    wait_for(confirm_until_shelved, timeout_s=30, interval_s=1.0)

    with sqlite3.connect(Path(config["data_dir"]) / "alarms.sqlite") as db:
        rows = db.execute(
            "SELECT from_state, to_state, user, reason FROM journal"
            " WHERE alarm_id = ? AND to_state = 'shelved'",
            (alarm_id,),
        ).fetchall()
    assert rows == [
        ("ack_active", "shelved", "operator", "shelved for 900 s: pressure test")
    ]
    wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, button), 30)
    assert text_of(browser, ids.ACK_RESULT) == (
        f"{alarm_id} shelved by operator for 15 min: pressure test"
    )
