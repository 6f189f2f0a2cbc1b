"""High consumption and minimum night flow on a generated year of hourly history
in the real SQLite historian: every leak found, no false alarm on clean meters,
no verdict when last year's data is missing or incomplete."""

import asyncio
import datetime as dt
import math
import random

import pytest

import historian
from alarms import AlarmEngine, AlarmState
from alarm_config import make_config
from vigie.model import Sample

END = dt.datetime(2024, 6, 30, tzinfo=dt.UTC).timestamp()
DAY = 86400.0
HISTORY_DAYS = 400
CHECK_DAYS = 30
TIMEZONE = "Europe/Paris"

CLEAN_METERS = [f"m{i:02d}" for i in range(20) if i not in (3, 8, 15)]
# Meter: (leak size as a share of its mean flow, leak start in days before END).
LEAKS = {"m03": (0.4, 25), "m08": (0.6, 12), "m15": (1.0, 5)}
# Installed 60 days before END, with a large leak: no data a year earlier.
NEW_METER = "m20"
# Every other hour missing in the year-earlier period, with a large leak.
GAPPY_METER = "m21"
METERS = CLEAN_METERS + list(LEAKS) + [NEW_METER, GAPPY_METER]


def local_hour(ts: float) -> float:
    # Demand follows local time; Paris is UTC+1 or UTC+2, close enough for a shape.
    return ((ts / 3600.0) + 1.5) % 24


def flow(meter: str, ts: float, rng: random.Random, base: float, growth: float):
    day_of_year = (ts / DAY) % 365.25
    seasonal = 1 + 0.2 * math.sin(2 * math.pi * (day_of_year - 100) / 365.25)
    daily = 0.3 + 0.7 * (1 - math.cos(2 * math.pi * (local_hour(ts) - 4) / 24)) / 2
    this_year = growth if ts >= END - 365 * DAY else 1.0
    value = base * seasonal * daily * this_year * rng.gauss(1.0, 0.04)
    leak = LEAKS.get(meter) or (
        (0.8, 20) if meter in (NEW_METER, GAPPY_METER) else None
    )
    if leak is not None and ts >= END - leak[1] * DAY:
        value += leak[0] * base * 0.65
    return value


def generate(meter: str, index: int) -> list[Sample]:
    rng = random.Random(index)
    base = rng.uniform(10, 50)
    growth = rng.uniform(0.97, 1.05)
    start = END - (60 if meter == NEW_METER else HISTORY_DAYS) * DAY
    samples = []
    ts = start
    while ts < END:
        gap_start = END - (365 + 14 + CHECK_DAYS) * DAY
        gap_end = END - 365 * DAY + 14 * DAY
        missing = (
            meter == GAPPY_METER and gap_start <= ts < gap_end and (ts // 3600) % 2
        )
        if not missing:
            samples.append(
                Sample(f"PS1.{meter}", ts, flow(meter, ts, rng, base, growth))
            )
        ts += 3600.0
    return samples


def site_rules() -> list[dict]:
    rules = []
    for meter in METERS:
        rules.append(
            {
                "type": "high_consumption",
                "tag": f"PS1.{meter}",
                "period_days": 7,
                "max_ratio": 1.2,
                "min_coverage": 0.9,
                "check_interval_s": DAY,
            }
        )
        rules.append(
            {
                "type": "min_night_flow",
                "tag": f"PS1.{meter}",
                "night_start": "02:00",
                "night_end": "05:00",
                "baseline_nights": 28,
                "min_baseline_nights": 14,
                "max_ratio": 1.5,
                "min_coverage": 0.9,
            }
        )
    return rules


async def write_history(config) -> None:
    writer = historian.make_writer(config)
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for index, meter in enumerate(METERS):
        writer.submit(generate(meter, index))
        await asyncio.sleep(0)
    stop.set()
    await task
    await writer.close()
    assert writer.stats()["written"] == sum(
        len(generate(m, i)) for i, m in enumerate(METERS)
    )


@pytest.fixture(scope="module")
def activations(tmp_path_factory):
    """Run daily evaluations over the last CHECK_DAYS days; return every shown
    activation as (alarm id, ts)."""
    data_dir = tmp_path_factory.mktemp("history")
    config = make_config(
        {meter: [] for meter in METERS},
        data_dir=str(data_dir),
        site_alarms={"rules": site_rules()},
        timezone=TIMEZONE,
        tag_type="float32",
    )
    asyncio.run(write_history(config))

    engine = AlarmEngine(config, data_dir / "alarms.sqlite", clock=lambda: END)
    found = []
    for day in range(CHECK_DAYS, -1, -1):
        now = END - day * DAY + 6 * 3600.0
        for transition in engine.tick(now):
            if transition.to_state is AlarmState.UNACK_ACTIVE:
                found.append((transition.alarm_id, transition.ts))
    engine.close()
    return found


def first_activation(found, alarm_id):
    times = [ts for found_id, ts in found if found_id == alarm_id]
    return min(times) if times else None


@pytest.mark.parametrize("meter", sorted(LEAKS))
def test_night_flow_finds_leak_same_night(activations, meter):
    leak_start = END - LEAKS[meter][1] * DAY

    first = first_activation(activations, f"PS1.{meter}.min_night_flow")

    # Leaks start at midnight UTC, 02:00 in Paris in summer: the night from 02:00
    # to 05:00 already shows them at the 06:00 UTC check.
    assert first == leak_start + 6 * 3600.0


@pytest.mark.parametrize("meter", sorted(LEAKS))
def test_high_consumption_finds_leak(activations, meter):
    leak_start = END - LEAKS[meter][1] * DAY

    first = first_activation(activations, f"PS1.{meter}.high_consumption")

    assert first is not None
    assert leak_start < first <= leak_start + 7 * DAY


def test_no_false_alarm_on_clean_meters(activations):
    clean = {f"PS1.{meter}" for meter in CLEAN_METERS}

    false_alarms = [(a, ts) for a, ts in activations if a.rsplit(".", 1)[0] in clean]

    assert false_alarms == []


def test_no_comparison_without_last_year(activations):
    assert first_activation(activations, f"PS1.{NEW_METER}.high_consumption") is None


def test_no_comparison_with_incomplete_last_year(activations):
    assert first_activation(activations, f"PS1.{GAPPY_METER}.high_consumption") is None


def test_night_flow_finds_leaks_of_other_meters(activations):
    assert first_activation(activations, f"PS1.{NEW_METER}.min_night_flow") == (
        END - 20 * DAY + 6 * 3600.0
    )
