"""Checks of monotonic counter tags: decreases and jumps flagged as uncertain."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vigie.model import Quality, Reason

from collectors.modbus.decode import Decoded

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CounterState:
    # Last value accepted as good, and the last value flagged since then.
    good: int | float | None = None
    flagged: int | float | None = None


class CounterCheck:
    """Flags decreases and jumps of monotonic counter tags, with state per tag.

    A value below the last good one, or above it times ``max_counter_jump``, gets
    quality UNCERTAIN, reason ``out_of_range``, and keeps its value. The next value
    decides what the flagged one was. If it fits the last good value, the flagged one
    was a glitch. If it fits the flagged value instead, the counter was reset or
    replaced, so counting goes on from there as good.
    """

    def __init__(self) -> None:
        self.states: dict[str, CounterState] = {}

    def check(self, name: str, tag, decoded: Decoded) -> Decoded:
        """Return ``decoded`` for tag ``name``, flagged if it breaks the counter."""
        if not tag.counter or decoded.quality is not Quality.GOOD:
            return decoded

        state = self.states.setdefault(name, CounterState())
        value = decoded.value
        factor = tag.max_counter_jump
        problem = counter_problem(state.good, value, factor)
        restarted = (
            problem is not None
            and state.flagged is not None
            and counter_problem(state.flagged, value, factor) is None
        )
        if restarted:
            log.warning(
                "tag %s: counter restarts from %s after %s (last good %s)",
                name,
                value,
                state.flagged,
                state.good,
            )
            problem = None

        if problem is None:
            if state.flagged is not None:
                log.info("tag %s: counter value %s is good again", name, value)
            state.good = value
            state.flagged = None
            return decoded

        if state.flagged is None:
            log.warning(
                "tag %s: counter %s from %s to %s; stored as uncertain",
                name,
                problem,
                state.good,
                value,
            )
        state.flagged = value
        return Decoded(value, Quality.UNCERTAIN, Reason.OUT_OF_RANGE)


def counter_problem(previous, value, factor: float | None) -> str | None:
    """Return "decreased" or "jumped" when ``value`` cannot follow ``previous``.

    NOTE: a previous value of 0 or less gives no jump limit, so the first count
    after a counter at zero is never flagged as a jump.
    """
    if previous is None:
        return None
    if value < previous:
        return "decreased"
    if factor is not None and previous > 0 and value > previous * factor:
        return "jumped"
    return None
