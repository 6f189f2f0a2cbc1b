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


# trend_chart: several tags, one y axis per unit, bands for bucketed ranges.

from dashboard.figures import trend_chart, unit_axes  # noqa: E402

UNITS = {"PS1.p": "bar", "PS1.q": "bar", "RES1.level": "m", "PS1.run": ""}


def test_one_axis_per_unit():
    tags = ["PS1.p", "RES1.level", "PS1.q", "PS1.run"]

    assert unit_axes(tags, UNITS) == {
        "PS1.p": 1, "RES1.level": 2, "PS1.q": 1, "PS1.run": 3
    }


def test_chart_puts_units_on_own_axes():
    raw = {
        "PS1.p": [(FALL_BACK[0], 4.0, 0)],
        "RES1.level": [(FALL_BACK[0], 2.5, 0)],
        "PS1.run": [(FALL_BACK[0], True, 0)],
    }
    tags = ["PS1.p", "RES1.level", "PS1.run"]

    figure = trend_chart(tags, raw, {}, UNITS, BERLIN, FALL_BACK[-1],
                         FALL_BACK[0], FALL_BACK[-1])

    assert [trace.yaxis for trace in figure.data] == ["y", "y2", "y3"]
    assert figure.layout.yaxis.title.text == "bar"
    assert figure.layout.yaxis2.title.text == "m"
    assert figure.layout.yaxis2.side == "right"
    assert figure.layout.yaxis2.overlaying == "y"
    assert list(figure.layout.yaxis3.ticktext) == ["OFF", "ON"]


def test_band_keeps_spike_and_real_time_order():
    buckets = [
        (FALL_BACK[0], 0.0, 0.0, 0.0),
        (FALL_BACK[1], 0.0, 0.01, 100.0),
        (FALL_BACK[2], 0.0, 0.0, 0.0),
    ]

    figure = trend_chart(["RES1.level"], {}, {"RES1.level": buckets}, UNITS, BERLIN,
                         FALL_BACK[-1], FALL_BACK[0], FALL_BACK[-1])
    upper, lower, mean = figure.data

    assert list(upper.y) == [0.0, 100.0, 0.0]
    assert lower.fill == "tonexty"
    assert list(mean.y) == [0.0, 0.01, 0.0]
    x = list(mean.x)
    assert len(set(x)) == 3
    assert all(a < b for a, b in zip(x, x[1:]))
    assert [row[0] for row in mean.customdata] == [
        "2024-10-27 02:30:00 +02:00",
        "2024-10-27 02:00:00 +01:00",
        "2024-10-27 02:30:00 +01:00",
    ]


def test_chart_without_history_says_so():
    figure = trend_chart(["PS1.p"], {"PS1.p": []}, {}, UNITS, BERLIN,
                         FALL_BACK[-1], FALL_BACK[0], FALL_BACK[-1])

    assert figure.layout.annotations[0].text == "No history in this range"
