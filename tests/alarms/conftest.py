"""Engine factory for the alarm tests, with a settable clock."""

from __future__ import annotations

import pytest

from alarms import AlarmEngine
from alarm_config import make_config


class FakeClock:
    """Clock for acknowledge times; tests set ``now`` by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal_path(tmp_path):
    return tmp_path / "data" / "alarms.sqlite"


@pytest.fixture
def make_engine(journal_path, clock):
    """Return a factory of engines on one journal file; closes them at teardown."""
    engines: list[AlarmEngine] = []

    def make(alarms_by_tag: dict[str, list[dict]], **settings) -> AlarmEngine:
        config = make_config(alarms_by_tag, **settings)
        engine = AlarmEngine(config, journal_path, clock=clock)
        engines.append(engine)
        return engine

    yield make

    for engine in engines:
        engine.close()
