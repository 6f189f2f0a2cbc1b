"""Trend ranges, bucket widths, CSV export, time parsing and the trend cache."""

import threading
import time

import pytest

from dashboard.params import ParameterError, parse_time
from dashboard.trend_cache import TrendCache
from dashboard.trend_data import (
    RAW_MAX_POINTS,
    TrendData,
    TrendRequest,
    fetch_trend,
    plan_request,
    trend_csv,
)
from tests.dashboard.scripted_view import PRESSURE

NOW = 1717236000.0
BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("range_key", "span_s", "every_s"),
    [("1h", 3600, None), ("24h", 86400, 120), ("7d", 604800, 900),
     ("30d", 2592000, 3600)],
)
def test_range_picks_raw_or_buckets(range_key, span_s, every_s):
    request = plan_request([PRESSURE], range_key, None, None, "UTC", NOW)

    assert request.end == NOW
    assert request.start == NOW - span_s
    assert request.every_s == every_s


def test_custom_range_in_site_zone():
    request = plan_request(
        ["A.b"], "custom", "2024-06-01 08:00", "2024-06-01 10:00", BERLIN, NOW
    )

    assert request.start == 1717221600.0
    assert request.end == 1717228800.0
    assert request.every_s is None


@pytest.mark.parametrize(
    ("tags", "range_key", "start", "end", "error"),
    [
        ([], "1h", None, None, "choose at least one tag"),
        (["a", "b", "c", "d", "e"], "1h", None, None,
         "5 tags chosen: a trend shows at most 4"),
        (["a"], "custom", "2024-06-01", None,
         "enter both from and to for a custom range"),
        (["a"], "custom", "2024-06-02", "2024-06-01",
         "the custom range must end after it starts"),
    ],
)
def test_bad_trend_form(tags, range_key, start, end, error):
    with pytest.raises(ParameterError) as raised:
        plan_request(tags, range_key, start, end, "UTC", NOW)
    assert str(raised.value) == error


def test_parse_time_forms():
    assert parse_time("1717236000", BERLIN, "from") == NOW
    assert parse_time("2024-06-01T10:00:00Z", BERLIN, "from") == NOW
    assert parse_time("2024-06-01T12:00:00", BERLIN, "from") == NOW
    assert parse_time("2024-06-01 12:00:00+02:00", "UTC", "from") == NOW


def test_parse_time_relative_forms():
    before = time.time()
    an_hour_ago = parse_time("-1h", BERLIN, "from")
    now = parse_time("now", BERLIN, "to")
    after = time.time()

    assert before - 3600 <= an_hour_ago <= after - 3600
    assert before <= now <= after


def test_many_raw_samples_become_band(view):
    view.reader.raw_points = RAW_MAX_POINTS + 1
    request = TrendRequest((PRESSURE,), NOW - 3600, NOW, None)

    data = fetch_trend(view, request)

    assert data.raw == {}
    assert [call[3:5] for call in view.reader.aggregate_calls] == [
        (5, "min"), (5, "mean"), (5, "max")
    ]
    assert data.bands[PRESSURE][0] == (NOW - 3600, 0.0, 0.5, 1.0)


def test_csv_of_raw_and_band():
    data = TrendData(
        TrendRequest(("A.x", "B.y"), NOW, NOW + 60, None),
        raw={"A.x": [(NOW, 1.5, 0), (NOW + 1, None, 2)]},
        bands={"B.y": [(NOW, 0.0, 0.25, 1.0)]},
    )

    assert trend_csv(data, BERLIN).splitlines() == [
        "tag,time_utc,time_local,value,quality,min,mean,max",
        "A.x,2024-06-01T10:00:00.000Z,2024-06-01T12:00:00.000+02:00,1.5,0,,,",
        "A.x,2024-06-01T10:00:01.000Z,2024-06-01T12:00:01.000+02:00,,2,,,",
        "B.y,2024-06-01T10:00:00.000Z,2024-06-01T12:00:00.000+02:00,,,0.0,0.25,1.0",
    ]


def test_cache_never_stacks_slow_queries():
    release = threading.Event()
    calls = []

    def slow_fetch(key):
        calls.append(key)
        release.wait(10)
        return f"data {len(calls)}"

    ticks = iter(range(1000))
    cache = TrendCache(slow_fetch, clock=lambda: float(next(ticks)))
    first = [cache.get("k", max_age_s=0.0) for _ in range(5)]

    assert [entry.data for entry in first] == [None] * 5
    assert calls == ["k"]
    assert cache.running() == 1

    release.set()
    entry = cache.get("k", max_age_s=1e9, wait_s=10)
    assert entry.done.wait(10)
    assert entry.data == "data 1"
    assert entry.version == 1
