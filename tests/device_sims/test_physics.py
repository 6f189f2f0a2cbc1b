import json
import subprocess
import sys

import pytest

from device_sims import physics
from device_sims.physics import (
    DAY_S,
    ENERGY_START_DAY,
    MIDNIGHT_STATE,
    NetworkModel,
    demand_m3h,
    read_points,
)

# 2024-06-01 00:00:00 UTC, an even day counted from ENERGY_START_DAY.
DAY = 19_875
MIDNIGHT = DAY * DAY_S


def test_level_integrates_inflow_minus_outflow():
    model = NetworkModel()
    model.advance_to(MIDNIGHT + 6 * 3600)
    level = model.level_m
    running = model.running_pumps

    steps = 600
    expected = level
    for second in range(model.second, model.second + steps):
        expected += (running * physics.PUMP_FLOW_M3H - demand_m3h(second)) / 3600 / 600
    model.run(steps)

    assert model.running_pumps == running
    assert model.level_m == pytest.approx(expected, abs=1e-12)
    assert model.level_m != pytest.approx(level, abs=1e-3)


def test_pump1_hysteresis_limits():
    model = NetworkModel()
    model.reset(DAY)
    model.second = 3 * 3600
    model.pump2_running = False

    model.pump1_running = False
    model.level_m = 2.6
    model.run(1)
    assert model.pump1_running is False

    model.level_m = 2.49
    model.run(1)
    assert model.pump1_running is True

    model.level_m = 4.19
    model.run(1)
    assert model.pump1_running is True

    model.level_m = 4.21
    model.run(1)
    assert model.pump1_running is False


def test_pump2_hysteresis_limits():
    model = NetworkModel()
    model.reset(DAY)
    model.second = 8 * 3600
    model.pump1_running = True

    model.pump2_running = False
    model.level_m = 1.9
    model.run(1)
    assert model.pump2_running is False

    model.level_m = 1.79
    model.run(1)
    assert model.pump2_running is True

    model.level_m = 3.79
    model.run(1)
    assert model.pump2_running is True

    model.level_m = 3.81
    model.run(1)
    assert model.pump2_running is False


def test_pump_switching_over_a_day_respects_hysteresis():
    model = NetworkModel()
    model.reset(DAY)
    switches = []
    for _ in range(DAY_S):
        before = (model.pump1_running, model.pump2_running, model.level_m)
        model.run(1)
        if model.pump1_running != before[0]:
            switches.append(("pump1", model.pump1_running, before[2]))
        if model.pump2_running != before[1]:
            switches.append(("pump2", model.pump2_running, before[2]))

    limits = {("pump1", True): 2.5, ("pump1", False): 4.2,
              ("pump2", True): 1.8, ("pump2", False): 3.8}  # fmt: skip
    assert len(switches) >= 4
    for pump, started, level in switches:
        if started:
            assert level < limits[(pump, started)]
        else:
            assert level > limits[(pump, started)]
    assert {switch[:2] for switch in switches} == set(limits)


def test_each_day_ends_where_the_next_one_starts():
    model = NetworkModel()
    for day in (ENERGY_START_DAY + 2000, ENERGY_START_DAY + 2001):
        model.reset(day)
        start_energy = model.energy_kwh
        model.run(DAY_S)
        parity = (day - ENERGY_START_DAY) % 2
        level, pump1, pump2, day_kwh = MIDNIGHT_STATE[1 - parity]

        assert model.level_m == pytest.approx(level, abs=0.001)
        assert model.pump1_running is pump1
        assert model.pump2_running is pump2
        used = model.energy_kwh - start_energy
        assert 0.0 < MIDNIGHT_STATE[parity][3] - used < 0.2

        model.reset(day + 1)
        assert model.energy_kwh - start_energy == pytest.approx(
            MIDNIGHT_STATE[parity][3], abs=1e-6
        )


def test_fast_forward_equals_step_by_step_integration():
    direct = NetworkModel()
    stepped = NetworkModel()
    target = MIDNIGHT + 17 * 3600 + 1234.6

    direct.advance_to(target)
    stepped.advance_to(MIDNIGHT + 5)
    ts = MIDNIGHT + 5
    while ts < target - 7:
        ts += 7
        stepped.advance_to(ts)
    stepped.advance_to(target)

    assert stepped.second == direct.second == 17 * 3600 + 1234
    for simulator in physics.MODELS:
        assert read_points(stepped, simulator) == read_points(direct, simulator)


def test_separate_processes_compute_identical_points():
    target = MIDNIGHT + 9 * 3600 + 77
    script = (
        "import json, sys\n"
        "from device_sims.physics import NetworkModel, read_points, MODELS\n"
        "model = NetworkModel()\n"
        f"model.advance_to({target})\n"
        "json.dump({s: read_points(model, s) for s in MODELS}, sys.stdout)\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
        )
        outputs.append(json.loads(result.stdout))

    model = NetworkModel()
    model.advance_to(target)
    local = json.loads(json.dumps({s: read_points(model, s) for s in physics.MODELS}))
    assert outputs[0] == outputs[1]
    assert outputs[0] == local


def test_active_power_adds_45_kw_per_running_pump():
    model = NetworkModel()
    model.advance_to(MIDNIGHT + 12 * 3600)
    base = physics.base_load_kw(model.demand_m3h)

    powers = []
    for pump1, pump2 in ((False, False), (True, False), (True, True)):
        model.pump1_running, model.pump2_running = pump1, pump2
        powers.append(model.active_power_kw)

    assert powers[0] == pytest.approx(base, abs=1e-9)
    assert powers[1] - powers[0] == pytest.approx(45.0, abs=1e-9)
    assert powers[2] - powers[1] == pytest.approx(45.0, abs=1e-9)
    assert 120.0 <= base <= 200.0


def test_energy_integrates_active_power():
    model = NetworkModel()
    model.advance_to(MIDNIGHT + 4 * 3600)
    energy = model.energy_kwh

    expected = energy
    for _ in range(300):
        expected += model.active_power_kw / 3600
        model.run(1)

    assert model.energy_kwh == pytest.approx(expected, abs=1e-6)
    assert model.energy_kwh > energy


def test_demand_curve_has_night_low_and_two_peaks():
    assert demand_m3h(3 * 3600) == 120.0
    assert demand_m3h(8 * 3600) == 450.0
    assert demand_m3h(19 * 3600) == 450.0
    assert demand_m3h(8 * 3600 + 1800) == 425.0


def test_filters_backwash_ten_minutes_every_four_hours_staggered():
    model = NetworkModel()
    schedule = {}
    for second in (1799, 1800, 2399, 2400, 1800 + 4 * 3600, 1800 + 2 * 3600):
        model.advance_to(MIDNIGHT + second)
        points = model.treatment_plant()
        schedule[second] = (points["filter1_backwash"], points["filter2_backwash"])

    assert schedule[1799] == (False, False)
    assert schedule[1800] == (True, False)
    assert schedule[2399] == (True, False)
    assert schedule[2400] == (False, False)
    assert schedule[1800 + 4 * 3600] == (True, False)
    assert schedule[1800 + 2 * 3600] == (False, True)


def test_points_stay_in_plausible_ranges_over_a_day():
    model = NetworkModel()
    for second in range(0, DAY_S, 60):
        model.advance_to(MIDNIGHT + second)
        station = model.pumping_station()
        meter = model.power_meter()
        plant = model.treatment_plant()
        level = model.reservoir()["level"]

        assert 1.7 < level < 4.3
        assert 2.4 < station["discharge_pressure"] < 5.3
        assert 49.97 < meter["frequency"] < 50.03
        assert 225.0 < meter["voltage_l1"] < 235.0
        assert 0.25 < plant["turbidity"] < 0.39
        assert 0.55 < plant["chlorine_residual"] < 0.74


def test_noise_is_deterministic_and_bounded():
    values = [physics.noise(7, "PS.outflow", step) for step in range(1000)]

    assert values == [physics.noise(7, "PS.outflow", step) for step in range(1000)]
    assert all(-1.0 <= value < 1.0 for value in values)
    assert physics.noise(7, "PS.outflow", 5) != physics.noise(7, "RES.inflow", 5)
    assert physics.noise(7, "PS.outflow", 5) != physics.noise(8, "PS.outflow", 5)
    assert abs(sum(values) / len(values)) < 0.1
