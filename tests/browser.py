"""Headless Chromium for browser tests, through Debian's chromium and chromedriver.

Import the fixture into a conftest.py (``from tests.browser import browser``) or list
this module in ``pytest_plugins``. Selenium runs offline: it never downloads a driver.
"""

from __future__ import annotations

import shutil
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_LOAD_TIMEOUT_S = 30

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Yield a selenium Chrome WebDriver on headless Chromium, shared by a module.

    Sharing saves one Chromium start per test. Each test loads its own page with
    ``browser.get``, so no page state carries over between tests.
    """
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(f"browser test needs {CHROMIUM} and {CHROMEDRIVER}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        yield from _start_chromium(tmp_path_factory.mktemp("chromium-profile"))


def _start_chromium(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")

    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition, timeout_s: float = 20.0, interval_s: float = 0.1):
    """Poll ``condition()`` until it returns a truthy value and return that value.

    Exceptions from ``condition`` (an element not rendered yet, or replaced during a
    refresh) count as not yet true. Raises AssertionError after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last_error = error
        else:
            if result:
                return result
        time.sleep(interval_s)
    raise AssertionError(
        f"condition still false after {timeout_s} s (last error: {last_error!r})"
    )
