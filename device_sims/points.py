"""Point values of one simulated device: the shared model plus forced values."""

from __future__ import annotations

import logging

from device_sims.physics import DEFAULT_SEED, NetworkModel, read_points

log = logging.getLogger(__name__)

PointValue = float | int | bool


class PointSource:
    """Named points of one simulator model, with values an operator may force.

    A forced value changes only what this process serves. The shared physics keeps
    running unforced, so forcing PS1.pump1_running does not move RES1.level.
    """

    def __init__(self, simulator: str, seed: int = DEFAULT_SEED) -> None:
        self.simulator = simulator
        self.model = NetworkModel(seed)
        self.names = frozenset(read_points(self.model, simulator))
        self.forced: dict[str, PointValue] = {}

    def read(self, now: float) -> dict[str, PointValue]:
        """Advance the model to ``now`` (seconds, UTC) and return every point."""
        self.model.advance_to(now)
        values = read_points(self.model, self.simulator)
        values.update(self.forced)
        return values

    def force(self, name: str, value: object) -> None:
        """Pin ``name`` to ``value`` until released. Raises ValueError if invalid."""
        if name not in self.names:
            known = ", ".join(sorted(self.names))
            raise ValueError(f"unknown point {name!r}; known points: {known}")
        if isinstance(value, (bool, int, float)):
            pinned: PointValue = value
        else:
            raise ValueError(
                f"invalid value {value!r} for point {name!r}: expected a number or"
                " true/false"
            )
        self.forced[name] = pinned
        log.info("%s point %s forced to %r", self.simulator, name, pinned)

    def release(self, name: str) -> None:
        """Return ``name`` to the model value. Raises ValueError if not forced."""
        if name not in self.forced:
            raise ValueError(f"point {name!r} is not forced")
        del self.forced[name]
        log.info("%s point %s released", self.simulator, name)
