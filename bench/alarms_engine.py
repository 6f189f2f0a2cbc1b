"""Samples per second the alarm engine evaluates with 10,000 limit rules.

The baseline is a bare Python loop doing the same limit comparisons (a dict lookup
of the tag's four limits, then four comparisons) over the same samples, in the
same run. The engine also keeps ISA-18.2 state, delays, staleness and flood
windows, and journals its transitions to SQLite.

Usage: python bench/alarms_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from alarms import AlarmEngine
from vigie.config import Config
from vigie.model import Sample

TAGS = 2500
LIMITS = {"high_high": 95.0, "high": 90.0, "low": 10.0, "low_low": 5.0}
BATCH = 100


def build_config(data_dir: str) -> Config:
    tags = [
        {
            "name": f"t{index}",
            "address": index * 2,
            "type": "float32",
            "alarms": [
                {"type": kind, "limit": limit, "deadband": 1.0}
                for kind, limit in LIMITS.items()
            ],
        }
        for index in range(TAGS)
    ]
    return Config.model_validate(
        {
            "data_dir": data_dir,
            "devices": [{"name": "B", "protocol": "modbus_tcp", "tags": tags}],
        }
    )


def make_batches(count: int, excursion: float, seed: int) -> list[list[Sample]]:
    """Return ``count`` batches; ``excursion`` is the share of samples past a
    limit, so that alarms raise and clear."""
    rng = random.Random(seed)
    batches = []
    ts = 0.0
    for _ in range(count):
        batch = []
        for _ in range(BATCH):
            ts += 0.001
            value = rng.uniform(20.0, 80.0)
            if rng.random() < excursion:
                value = rng.choice((2.0, 97.0))
            batch.append(Sample(f"B.t{rng.randrange(TAGS)}", ts, value))
        batches.append(batch)
    return batches


def bare_loop(batches: list[list[Sample]]) -> float:
    limits = {f"B.t{index}": tuple(LIMITS.values()) for index in range(TAGS)}
    active = 0
    start = time.perf_counter()
    for batch in batches:
        for sample in batch:
            high_high, high, low, low_low = limits[sample.tag]
            value = sample.value
            active += (
                (value > high_high) + (value > high) + (value < low) + (value < low_low)
            )
    return time.perf_counter() - start


def engine_run(batches: list[list[Sample]]) -> tuple[float, float, int]:
    """Return (seconds, seconds to build the engine, transitions)."""
    with tempfile.TemporaryDirectory() as folder:
        config = build_config(folder)
        started = time.perf_counter()
        engine = AlarmEngine(config, Path(folder) / "alarms.sqlite", clock=lambda: 0.0)
        built = time.perf_counter() - started
        transitions = 0
        start = time.perf_counter()
        for batch in batches:
            transitions += len(engine.process(batch))
        elapsed = time.perf_counter() - start
        engine.close()
    return elapsed, built, transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (~5 s)")
    args = parser.parse_args()
    count = 100 if args.quick else 1000

    print(f"{TAGS * len(LIMITS)} rules on {TAGS} tags, batches of {BATCH} samples\n")
    print(
        "| Case | Samples | Transitions | Engine samples/s | Bare loop samples/s |"
        " Engine / bare |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, excursion in (("all normal", 0.0), ("1 % past a limit", 0.01)):
        batches = make_batches(count, excursion, seed=1)
        samples = count * BATCH
        bare = min(bare_loop(batches) for _ in range(3))
        elapsed, built, transitions = engine_run(batches)
        print(
            f"| {name} | {samples} | {transitions} | {samples / elapsed:,.0f}"
            f" | {samples / bare:,.0f} | {bare / elapsed:.3f} |"
        )
    print(f"\nEngine built in {built:.2f} s (10,000 rules, journal opened).")


if __name__ == "__main__":
    main()
