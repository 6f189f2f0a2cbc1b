from datetime import datetime

from dashboard.figures import local_times, trend_figure, trend_series

# 2024-12-04 13:46:40 UTC, 14:46:40 in Casablanca.
NOW = 1733320000.0
ZONE = "Africa/Casablanca"


def test_local_times_are_site_wall_clock():
    assert local_times([NOW], ZONE) == [datetime(2024, 12, 4, 14, 46, 40)]
    assert local_times([NOW], "UTC") == [datetime(2024, 12, 4, 13, 46, 40)]


def test_bad_quality_points_are_gaps():
    points = [(NOW - 2, 4.0, 0), (NOW - 1, 9.9, 2), (NOW, 4.2, 1)]

    timestamps, values, is_bool = trend_series(points)

    assert timestamps == [NOW - 2, NOW - 1, NOW]
    assert values == [4.0, None, 4.2]
    assert is_bool is False


def test_none_and_text_values_are_gaps():
    points = [(NOW - 2, None, 0), (NOW - 1, "n/a", 0), (NOW, 3, 0)]
    assert trend_series(points)[1] == [None, None, 3.0]


def test_bool_tag_becomes_step_line():
    points = [(NOW - 2, False, 0), (NOW - 1, True, 0), (NOW, True, 2)]

    figure = trend_figure(points, "PS1.pump1_running", "", ZONE, NOW, 60)
    trace = figure.data[0]

    assert list(trace.y) == [0, 1, None]
    assert trace.line.shape == "hv"
    assert list(figure.layout.yaxis.ticktext) == ["OFF", "ON"]


def test_trend_axis_covers_window():
    points = [(NOW - 30, 4.0, 0), (NOW, 4.5, 0)]

    figure = trend_figure(points, "PS1.discharge_pressure", "bar", ZONE, NOW, 600)
    trace = figure.data[0]

    assert list(trace.x) == [
        datetime(2024, 12, 4, 14, 46, 10),
        datetime(2024, 12, 4, 14, 46, 40),
    ]
    assert list(trace.y) == [4.0, 4.5]
    assert trace.connectgaps is False
    assert trace.line.shape == "linear"
    assert list(figure.layout.xaxis.range) == [
        datetime(2024, 12, 4, 14, 36, 40),
        datetime(2024, 12, 4, 14, 46, 40),
    ]
    assert figure.layout.xaxis.title.text == "Time (Africa/Casablanca)"
    assert figure.layout.title.text == "PS1.discharge_pressure (bar)"
    assert figure.layout.uirevision == "PS1.discharge_pressure"
    assert len(figure.layout.annotations) == 0


def test_empty_history_says_so():
    figure = trend_figure([], "RES1.level", "m", ZONE, NOW, 3600)

    assert len(figure.data[0].x) == 0
    assert figure.layout.annotations[0].text == (
        "No history for RES1.level in the last 60 min"
    )


BERLIN = "Europe/Berlin"
JUNE = 1717236000.0  # 2024-06-01T10:00:00Z
FALL_BACK = [
    1729989000.0,
    1729990800.0,
    1729992600.0,
]  # 2024-10-27 00:30Z, 01:00Z, 01:30Z
SPRING = [1711845000.0, 1711846800.0, 1711848600.0]  # 2024-03-31 00:30Z, 01:00Z, 01:30Z


def test_june_sample_shown_at_local_noon():
    figure = trend_figure([(JUNE, 1.0, 0)], "RES1.level", "m", BERLIN, JUNE, 600)
    trace = figure.data[0]

    assert list(trace.x) == [datetime(2024, 6, 1, 12, 0)]
    assert list(trace.customdata) == ["2024-06-01 12:00:00 +02:00"]
    assert "%{customdata}" in trace.hovertemplate


def test_fall_back_samples_stay_in_real_time_order():
    points = [(ts, float(v), 0) for v, ts in enumerate(FALL_BACK, start=1)]

    figure = trend_figure(points, "RES1.level", "m", BERLIN, FALL_BACK[-1], 7200)
    trace = figure.data[0]
    x = list(trace.x)

    assert list(trace.customdata) == [
        "2024-10-27 02:30:00 +02:00",
        "2024-10-27 02:00:00 +01:00",
        "2024-10-27 02:30:00 +01:00",
    ]
    assert len(set(x)) == 3
    assert all(a < b for a, b in zip(x, x[1:]))
    assert [(b - a).total_seconds() for a, b in zip(x, x[1:])] == [1800.0, 1800.0]


def test_spring_forward_samples_stay_in_real_time_order():
    points = [(ts, 1.0, 0) for ts in SPRING]

    figure = trend_figure(points, "RES1.level", "m", BERLIN, SPRING[-1], 7200)
    trace = figure.data[0]
    x = list(trace.x)

    assert list(trace.customdata) == [
        "2024-03-31 01:30:00 +01:00",
        "2024-03-31 03:00:00 +02:00",
        "2024-03-31 03:30:00 +02:00",
    ]
    assert len(set(x)) == 3
    assert all(a < b for a, b in zip(x, x[1:]))


def test_ticks_labelled_in_local_time_across_fall_back():
    figure = trend_figure([], "RES1.level", "m", BERLIN, FALL_BACK[-1], 7200)
    axis = figure.layout.xaxis

    assert list(axis.ticktext) == ["01:30", "02:00", "02:30", "02:00", "02:30"]
    values = list(axis.tickvals)
    assert all(a < b for a, b in zip(values, values[1:]))
