"""Conversion between float seconds and integer nanoseconds since the epoch.

Both backends store nanoseconds. The conversion is exact to the nanosecond, so a
timestamp written and read back is the same float.
"""

import math

NS_PER_S = 1_000_000_000


def to_ns(ts: float) -> int:
    # Near today's epoch seconds, ts * 1e9 could be off by up to 128 ns. The fraction
    # of a second is exact in a float, so only its scaling is rounded.
    seconds = math.floor(ts)
    fraction = ts - seconds
    return int(seconds) * NS_PER_S + round(fraction * NS_PER_S)


def from_ns(ns: int) -> float:
    # int / int is correctly rounded, unlike ns * 1e-9.
    return ns / NS_PER_S
