import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from historian.lineproto import LineProtocolError, format_sample
from historian.timestamps import from_ns, to_ns
from vigie.model import Quality, Sample

TS = 1733320000.25
NS = "1733320000250000000"


def line(value, tag="PS1.flow", quality=Quality.GOOD, reason="", measurement="m"):
    return format_sample(measurement, Sample(tag, TS, value, quality, reason))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (3, "value=3.0"),
        (3.5, "value=3.5"),
        (-0.125, "value=-0.125"),
        (1e20, "value=1e+20"),
        (2**53 + 1, "value=9007199254740992.0"),
        (True, "value=1.0"),
        (False, "value=0.0"),
    ],
)
def test_numbers_and_bools_are_float_fields(value, field):
    assert line(value) == f"m,device=PS1,tag=PS1.flow quality=0i,{field} {NS}"


def test_string_field_escapes_quotes_and_backslashes():
    text = 'say "hi" in C:\\temp\\'
    expected = r'text="say \"hi\" in C:\\temp\\"'

    assert line(text) == f"m,device=PS1,tag=PS1.flow quality=0i,{expected} {NS}"


def test_string_field_keeps_line_break_and_non_ascii():
    assert line("débit\nélevé") == (
        f'm,device=PS1,tag=PS1.flow quality=0i,text="débit\nélevé" {NS}'
    )


def test_tag_values_escape_space_comma_equals():
    result = line(1.0, tag="PS 1.a=b,c d")

    assert result == rf"m,device=PS\ 1,tag=PS\ 1.a\=b\,c\ d quality=0i,value=1.0 {NS}"


def test_measurement_escapes_space_and_comma_only():
    result = line(1.0, measurement="tele metry,x=y")

    assert result == (
        rf"tele\ metry\,x=y,device=PS1,tag=PS1.flow quality=0i,value=1.0 {NS}"
    )


def test_non_ascii_names_pass_unchanged():
    result = line(2.0, tag="Zaïo.débit", measurement="télémesure")

    assert result == (
        f"télémesure,device=Zaïo,tag=Zaïo.débit quality=0i,value=2.0 {NS}"
    )


@pytest.mark.parametrize(
    ("tag", "measurement"),
    [("PS1.flo\nw", "m"), ("PS1\n.flow", "m"), ("PS1.flow", "tele\nmetry")],
)
def test_line_break_in_name_rejected(tag, measurement):
    with pytest.raises(LineProtocolError, match="cannot contain a line break"):
        line(1.0, tag=tag, measurement=measurement)


def test_trailing_backslash_in_name_rejected():
    with pytest.raises(LineProtocolError, match="cannot end with a backslash"):
        line(1.0, tag="PS1.flow\\")


def test_bad_sample_without_value_keeps_quality_and_reason():
    result = line(None, quality=Quality.BAD, reason="comm_failure")

    assert result == f'm,device=PS1,tag=PS1.flow quality=2i,reason="comm_failure" {NS}'


def test_reason_written_only_when_not_good():
    assert line(1.0, reason="stale") == (
        f"m,device=PS1,tag=PS1.flow quality=0i,value=1.0 {NS}"
    )
    assert line(1.0, quality=Quality.UNCERTAIN, reason="stale") == (
        f'm,device=PS1,tag=PS1.flow quality=1i,reason="stale",value=1.0 {NS}'
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [(math.nan, "device_nan"), (math.inf, "device_inf"), (-math.inf, "device_inf")],
)
def test_non_finite_number_dropped_and_marked_bad(value, reason):
    assert line(value) == (
        f'm,device=PS1,tag=PS1.flow quality=2i,reason="{reason}" {NS}'
    )


def test_non_finite_number_keeps_its_own_reason():
    result = line(math.nan, quality=Quality.BAD, reason="sensor_failure")

    assert result == (
        f'm,device=PS1,tag=PS1.flow quality=2i,reason="sensor_failure" {NS}'
    )


def test_timestamp_in_exact_nanoseconds():
    assert to_ns(1733320000.25) == 1733320000250000000
    assert to_ns(0.000000001) == 1
    assert to_ns(-1.5) == -1500000000
    assert from_ns(1733320000250000000) == 1733320000.25


# From 2001 to 2100 floats are more than 1 ns apart, so nanoseconds lose nothing.
@given(st.floats(min_value=1e9, max_value=4102444800.0))
def test_timestamp_round_trip_is_exact(ts):
    assert from_ns(to_ns(ts)) == ts


@given(
    value=st.one_of(
        st.floats(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.booleans(),
        st.text(max_size=5),
        st.none(),
    ),
    quality=st.sampled_from(list(Quality)),
    kind=st.sampled_from([None, "float", "boolean", "string"]),
)
def test_fast_formatter_matches_format_sample(value, quality, kind):
    from historian.lineproto import SampleFormatter

    sample = Sample("PS1.a b,c=d", TS, value, quality, "stale" if quality else "")
    formatter = SampleFormatter("tele metry", {sample.tag: kind} if kind else {})

    assert formatter.line(sample) == format_sample("tele metry", sample, kind)
