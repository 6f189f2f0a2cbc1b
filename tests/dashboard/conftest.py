"""Fixtures of the dashboard tests: a scripted view and a served dashboard."""

from __future__ import annotations

import pytest

from tests.browser import browser  # noqa: F401 - fixture of the browser tests
from tests.dashboard.scripted_view import CONFIG, ScriptedView
from vigie.config import Config


@pytest.fixture
def config() -> Config:
    return Config.model_validate(CONFIG)


@pytest.fixture
def view(config, tmp_path):
    scripted = ScriptedView(config, tmp_path / "alarms.sqlite")
    yield scripted
    scripted.close()


@pytest.fixture
def served(view):
    """Serve the dashboard of ``view`` on a free loopback port."""
    from dashboard import create_app, serve

    handle = serve(create_app(view), "127.0.0.1", 0)
    try:
        yield handle
    finally:
        handle.shutdown()
