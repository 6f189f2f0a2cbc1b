"""Deterministic model of the demo network: district demand, reservoir, pumps, feeder.

Every simulator process integrates this model from midnight UTC of the current day in
fixed 1 s steps, so processes that never talk to each other serve the same physics.
Pure computation: no clock, no I/O. Callers pass the time in seconds since the epoch.
"""

from __future__ import annotations

import math
import zlib

STEP_S = 1
DAY_S = 86_400

# District demand in m3/h at each full hour UTC, interpolated linearly in between.
# Night minimum about 120, morning and evening peaks about 450, mean 285.6 m3/h.
DEMAND_M3H = (
    150.0, 130.0, 120.0, 120.0, 125.0, 160.0, 280.0, 420.0,
    450.0, 400.0, 340.0, 320.0, 330.0, 310.0, 280.0, 270.0,
    290.0, 350.0, 420.0, 450.0, 410.0, 320.0, 230.0, 180.0,
)  # fmt: skip
DEMAND_SLOPE = tuple(
    (DEMAND_M3H[(hour + 1) % 24] - DEMAND_M3H[hour]) / 3600.0 for hour in range(24)
)
DEMAND_MIN_M3H = min(DEMAND_M3H)
DEMAND_SPAN_M3H = max(DEMAND_M3H) - DEMAND_MIN_M3H

RESERVOIR_AREA_M2 = 600.0
RESERVOIR_DEPTH_M = 5.0

PUMP_FLOW_M3H = 260.0
PUMP_POWER_KW = 45.0
PUMP_CURRENT_A = 70.0
# Pump 1 starts below 2.5 m and stops above 4.2 m. Pump 2 covers deeper draw-down.
PUMP1_START_M = 2.5
PUMP1_STOP_M = 4.2
PUMP2_START_M = 1.8
PUMP2_STOP_M = 3.8
# Discharge pressure in bar by number of running pumps: static head, one, two.
DISCHARGE_BAR = (2.5, 4.5, 5.2)

# Feeder base load follows the demand curve between these bounds, in kW.
BASE_LOAD_MIN_KW = 120.0
BASE_LOAD_MAX_KW = 200.0
POWER_FACTOR = 0.92
PHASE_VOLTAGE_V = 230.0

# State at 00:00:00 UTC. With this demand curve the pumps settle into a two-day
# cycle, so even and odd days (counted from ENERGY_START_DAY) start from the two states
# of that cycle. Each is the state the other day ends in, to within 1 mm, so a running
# process that restarts its day at midnight shows no visible jump.
MIDNIGHT_STATE = (
    # (level m, pump 1 running, pump 2 running, kWh integrated over that day)
    (2.9519, True, False, 5088.3),
    (3.5115, True, True, 4972.1),
)

# Energy counter: 0 kWh at the start of 2020-01-01 UTC (day 18262 since the epoch).
# The kWh figures above are rounded up from one day's integrated active power, so the
# counter steps forward by less than 0.2 kWh at midnight and never runs backwards.
ENERGY_START_DAY = 18_262

# Water treatment plant: each filter backwashes for BACKWASH_S every
# BACKWASH_PERIOD_S, filter 2 two hours after filter 1.
BACKWASH_PERIOD_S = 4 * 3600
BACKWASH_S = 600
BACKWASH_START_S = (1800, 1800 + 2 * 3600)

DEFAULT_SEED = 20_240_601

_MASK64 = (1 << 64) - 1


def noise(seed: int, key: str, step: int) -> float:
    """Return a deterministic pseudo-random number in [-1, 1) for (seed, key, step).

    A splitmix64 finalizer over integers, so every process and every Python
    hash seed computes the same value.
    """
    x = (seed * 0x9E3779B97F4A7C15 + zlib.crc32(key.encode()) * 0xD1B54A32D192ED03)
    x = (x + step * 0x94D049BB133111EB) & _MASK64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK64
    x ^= x >> 31
    return x / 2.0**63 - 1.0


def demand_m3h(second_of_day: int) -> float:
    hour, within = divmod(second_of_day % DAY_S, 3600)
    return DEMAND_M3H[hour] + DEMAND_SLOPE[hour] * within


def base_load_kw(demand: float) -> float:
    share = (demand - DEMAND_MIN_M3H) / DEMAND_SPAN_M3H
    return BASE_LOAD_MIN_KW + (BASE_LOAD_MAX_KW - BASE_LOAD_MIN_KW) * share


class NetworkModel:
    """State of the whole network at one whole second of one UTC day.

    ``second`` counts the steps integrated since midnight: the state describes the
    instant ``day * 86400 + second``.
    """

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        self.day = -1
        self.reset(0)

    def reset(self, day: int) -> None:
        days = day - ENERGY_START_DAY
        level, pump1, pump2, _ = MIDNIGHT_STATE[days % 2]
        self.day = day
        self.second = 0
        self.level_m = level
        self.pump1_running = pump1
        self.pump2_running = pump2
        self.energy_kwh = (days // 2) * sum(row[3] for row in MIDNIGHT_STATE)
        if days % 2:
            self.energy_kwh += MIDNIGHT_STATE[0][3]

    def advance_to(self, ts: float) -> None:
        """Integrate up to the whole second at or before ``ts`` (seconds, UTC).

        A new UTC day, or a time before the current state, restarts from midnight.
        """
        day, second = divmod(int(math.floor(ts)), DAY_S)
        if day != self.day or second < self.second:
            self.reset(day)
        self.run(second - self.second)

    def run(self, steps: int) -> None:
        """Integrate ``steps`` seconds, not past the end of the day."""
        steps = min(steps, DAY_S - self.second)
        if steps <= 0:
            return

        # Plain local floats: a whole day (86,400 steps) must stay well under a second.
        level = self.level_m
        pump1 = self.pump1_running
        pump2 = self.pump2_running
        energy = self.energy_kwh
        second = self.second
        dlevel_per_m3h = STEP_S / 3600.0 / RESERVOIR_AREA_M2
        load_per_m3h = (BASE_LOAD_MAX_KW - BASE_LOAD_MIN_KW) / DEMAND_SPAN_M3H
        kwh_per_kw = STEP_S / 3600.0
        demand_table = DEMAND_M3H
        slope_table = DEMAND_SLOPE

        for second in range(second, second + steps):
            hour, within = divmod(second, 3600)
            demand = demand_table[hour] + slope_table[hour] * within

            if pump1:
                pump1 = level <= PUMP1_STOP_M
            else:
                pump1 = level < PUMP1_START_M
            if pump2:
                pump2 = level <= PUMP2_STOP_M
            else:
                pump2 = level < PUMP2_START_M
            running = pump1 + pump2

            level += (running * PUMP_FLOW_M3H - demand) * dlevel_per_m3h
            if level > RESERVOIR_DEPTH_M:
                level = RESERVOIR_DEPTH_M
            elif level < 0.0:
                level = 0.0

            load = BASE_LOAD_MIN_KW + (demand - DEMAND_MIN_M3H) * load_per_m3h
            energy += (load + running * PUMP_POWER_KW) * kwh_per_kw

        self.level_m = level
        self.pump1_running = pump1
        self.pump2_running = pump2
        self.energy_kwh = energy
        self.second = second + 1

    # Readings at the current second. Point names are the tag names of config.yaml.

    @property
    def step(self) -> int:
        return self.day * DAY_S + self.second

    def _noise(self, key: str, amplitude: float) -> float:
        return amplitude * noise(self.seed, key, self.step)

    @property
    def demand_m3h(self) -> float:
        return demand_m3h(self.second)

    @property
    def running_pumps(self) -> int:
        return self.pump1_running + self.pump2_running

    @property
    def active_power_kw(self) -> float:
        return base_load_kw(self.demand_m3h) + self.running_pumps * PUMP_POWER_KW

    def pumping_station(self) -> dict[str, float | bool]:
        def current(running: bool, key: str) -> float:
            return PUMP_CURRENT_A + self._noise(key, 0.8) if running else 0.0

        pressure = DISCHARGE_BAR[self.running_pumps]
        return {
            "pump1_running": self.pump1_running,
            "pump1_fault": False,
            "pump2_running": self.pump2_running,
            "pump2_fault": False,
            "pump1_current": current(self.pump1_running, "PS.pump1_current"),
            "pump2_current": current(self.pump2_running, "PS.pump2_current"),
            "discharge_pressure": pressure + self._noise("PS.discharge_pressure", 0.03),
            "outflow": self._flow(self.running_pumps * PUMP_FLOW_M3H, "PS.outflow"),
        }

    def reservoir(self) -> dict[str, float | bool]:
        level = self.level_m + self._noise("RES.level", 0.003)
        return {
            "level": min(max(level, 0.0), RESERVOIR_DEPTH_M),
            "inflow": self._flow(self.running_pumps * PUMP_FLOW_M3H, "RES.inflow"),
            "outflow": self._flow(self.demand_m3h, "RES.outflow"),
        }

    def power_meter(self) -> dict[str, float | bool]:
        power = self.active_power_kw
        points: dict[str, float | bool] = {}
        for phase, offset in (("l1", 0.8), ("l2", -0.4), ("l3", 0.2)):
            # The voltage sags with load: 0.01 V per kW, about 1.5 V from night to peak.
            voltage = PHASE_VOLTAGE_V + 3.0 + offset - power * 0.01
            voltage += self._noise("FDR.voltage_" + phase, 0.3)
            current = power * 1000.0 / (3.0 * voltage * POWER_FACTOR)
            points["voltage_" + phase] = voltage
            current += self._noise("FDR.current_" + phase, 1.0)
            points["current_" + phase] = current
        slow = 0.02 * math.sin(2.0 * math.pi * self.second / 900.0)
        points["active_power"] = power + self._noise("FDR.active_power", 0.8)
        points["frequency"] = 50.0 + slow + self._noise("FDR.frequency", 0.005)
        points["energy"] = self.energy_kwh
        return points

    def treatment_plant(self) -> dict[str, float | bool]:
        demand = self.demand_m3h
        backwash = [
            (self.second - start) % BACKWASH_PERIOD_S < BACKWASH_S
            for start in BACKWASH_START_S
        ]
        # Turbidity rises while a filter is out of service for backwash.
        turbidity = 0.28 + (0.08 if any(backwash) else 0.0)
        share = (demand - DEMAND_MIN_M3H) / DEMAND_SPAN_M3H
        # Higher flow means less contact time, so the residual sags at the peaks.
        chlorine = 0.72 - 0.14 * share
        return {
            "turbidity": turbidity + self._noise("WTP.turbidity", 0.02),
            "chlorine_residual": chlorine + self._noise("WTP.chlorine_residual", 0.01),
            "outflow": self._flow(demand, "WTP.outflow"),
            "filter1_backwash": backwash[0],
            "filter2_backwash": backwash[1],
        }

    def _flow(self, flow: float, key: str) -> float:
        return max(flow + self._noise(key, 2.0), 0.0) if flow > 0.0 else 0.0


MODELS = {
    "pumping_station": NetworkModel.pumping_station,
    "reservoir": NetworkModel.reservoir,
    "power_meter": NetworkModel.power_meter,
    "treatment_plant": NetworkModel.treatment_plant,
}


def read_points(model: NetworkModel, simulator: str) -> dict[str, float | bool]:
    """Return the named points of one simulator model at the model's current second."""
    return MODELS[simulator](model)
