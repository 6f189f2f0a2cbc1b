"""What a trend shows: the time range, raw samples or min/mean/max buckets per tag,
and the CSV export of it. No Dash."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dashboard.params import ParameterError, parse_time

MAX_TREND_TAGS = 4

# Preset ranges of the range selector, in seconds; "custom" uses from and to.
RANGES_S = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
RANGE_LABELS = {
    "1h": "Last hour",
    "24h": "24 h",
    "7d": "7 days",
    "30d": "30 days",
    "custom": "Custom",
}

# Ranges longer than this show min/mean/max buckets instead of raw samples.
RAW_MAX_S = 6 * 3600
# A raw range with more samples than this for one tag is shown as buckets too.
RAW_MAX_POINTS = 5000
# Buckets per trace: about two per pixel column of a 1600 px chart at most.
MAX_BUCKETS = 800
BUCKET_STEPS_S = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


@dataclass(frozen=True)
class TrendRequest:
    tags: tuple[str, ...]
    start: float
    end: float
    # Bucket width of min/mean/max bands; None for raw samples.
    every_s: int | None


@dataclass
class TrendData:
    request: TrendRequest
    # tag -> [(ts, value, quality)] for tags shown raw.
    raw: dict[str, list[tuple]] = field(default_factory=dict)
    # tag -> [(bucket start, min, mean, max)] for tags shown as a band.
    bands: dict[str, list[tuple]] = field(default_factory=dict)


def bucket_width(span_s: float) -> int:
    """Return the smallest standard step that keeps ``span_s`` in MAX_BUCKETS."""
    for step in BUCKET_STEPS_S:
        if span_s / step <= MAX_BUCKETS:
            return step
    return BUCKET_STEPS_S[-1]


def plan_request(
    tags,
    range_key: str,
    custom_from: str | None,
    custom_to: str | None,
    timezone: str,
    now: float,
) -> TrendRequest:
    """Turn the trend form into a request; raise ParameterError for a bad form."""
    tags = tuple(tags or ())
    if not tags:
        raise ParameterError("choose at least one tag")
    if len(tags) > MAX_TREND_TAGS:
        raise ParameterError(
            f"{len(tags)} tags chosen: a trend shows at most {MAX_TREND_TAGS}"
        )

    if range_key == "custom":
        if not custom_from or not custom_to:
            raise ParameterError("enter both from and to for a custom range")
        start = parse_time(custom_from, timezone, "from")
        end = parse_time(custom_to, timezone, "to")
        if end <= start:
            raise ParameterError("the custom range must end after it starts")
    elif range_key in RANGES_S:
        end = now
        start = now - RANGES_S[range_key]
    else:
        raise ParameterError(f"invalid range {range_key!r}")

    every_s = None
    if end - start > RAW_MAX_S:
        every_s = bucket_width(end - start)
    return TrendRequest(tags, start, end, every_s)


def fetch_trend(view, request: TrendRequest) -> TrendData:
    """Query the view for every tag of ``request``; raises what the view raises."""
    data = TrendData(request)
    for tag in request.tags:
        if request.every_s is None:
            points = view.history(tag, request.start, request.end)
            if len(points) <= RAW_MAX_POINTS:
                data.raw[tag] = points
                continue
            every_s = bucket_width(request.end - request.start)
        else:
            every_s = request.every_s
        data.bands[tag] = fetch_band(view, tag, request.start, request.end, every_s)
    return data


def fetch_band(view, tag: str, start: float, end: float, every_s: int) -> list:
    """Return [(bucket start, min, mean, max)], None where a bucket lacks one."""
    columns = {}
    for agg in ("min", "mean", "max"):
        columns[agg] = dict(view.history_aggregate(tag, start, end, every_s, agg))
    buckets = sorted(set().union(*(column.keys() for column in columns.values())))
    return [
        (
            ts,
            columns["min"].get(ts),
            columns["mean"].get(ts),
            columns["max"].get(ts),
        )
        for ts in buckets
    ]


CSV_HEADER = (
    "tag",
    "time_utc",
    "time_local",
    "value",
    "quality",
    "min",
    "mean",
    "max",
)


def trend_csv(data: TrendData, timezone: str) -> str:
    """Write the shown data as CSV: one row per raw sample or per bucket."""
    zone = ZoneInfo(timezone)
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for tag in data.request.tags:
        for ts, value, quality in data.raw.get(tag, []):
            writer.writerow(
                [tag, *_times(ts, zone), _cell(value), int(quality), "", "", ""]
            )
        for ts, low, mean, high in data.bands.get(tag, []):
            writer.writerow(
                [tag, *_times(ts, zone), "", "", _cell(low), _cell(mean), _cell(high)]
            )
    return output.getvalue()


def csv_filename(data: TrendData, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    start = datetime.fromtimestamp(data.request.start, zone)
    end = datetime.fromtimestamp(data.request.end, zone)
    return f"vigie-trend-{start:%Y%m%d-%H%M}-{end:%Y%m%d-%H%M}.csv"


def _times(ts: float, zone: ZoneInfo) -> tuple[str, str]:
    utc = datetime.fromtimestamp(ts, UTC)
    local = datetime.fromtimestamp(ts, zone)
    return (
        utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        local.isoformat(timespec="milliseconds"),
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)
