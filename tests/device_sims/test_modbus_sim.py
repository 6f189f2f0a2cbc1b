import math
import struct
import time

import pytest
from pymodbus.client import ModbusTcpClient

from device_sims.control import send
from device_sims.launch import stop_process
from device_sims.physics import NetworkModel

from sim_helpers import start_sim, wait_until


@pytest.fixture(scope="module")
def station(sim_config, tmp_path_factory):
    path, ports = sim_config
    log = tmp_path_factory.mktemp("ps1") / "sim.log"
    sim = start_sim(path, "PS1", ports["PS1"], log)
    yield sim
    assert stop_process(sim.proc) == 0


@pytest.fixture(scope="module")
def meter(sim_config, tmp_path_factory):
    path, ports = sim_config
    log = tmp_path_factory.mktemp("fdr1") / "sim.log"
    sim = start_sim(path, "FDR1", ports["FDR1"], log)
    yield sim
    assert stop_process(sim.proc) == 0


@pytest.fixture
def client_of():
    clients = []

    def connect(sim):
        client = ModbusTcpClient("127.0.0.1", port=sim.port, timeout=3, retries=1)
        assert client.connect()
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def force(sim, point, value):
    assert send(sim.control_port, {"force": point, "value": value}) == {"ok": True}


def release(sim, point):
    assert send(sim.control_port, {"release": point}) == {"ok": True}


def read(client, kind, address, count):
    method = getattr(client, f"read_{kind}_registers")
    response = method(address, count=count, device_id=1)
    assert not response.isError(), response
    return response.registers


def read_until(client, kind, address, count, expected):
    """Poll until the registers equal ``expected``, and return them."""

    def matches():
        registers = read(client, kind, address, count)
        return registers if registers == expected else None

    return wait_until(matches)


def float32(first, second):
    return struct.unpack(">f", struct.pack(">HH", first, second))[0]


def model_candidates(simulator, point, started, finished):
    """Model values of ``point`` at the whole seconds around one read."""
    model = NetworkModel()
    values = []
    for second in range(math.floor(started) - 1, math.floor(finished) + 1):
        model.advance_to(second)
        values.append(getattr(model, simulator)()[point])
    return values


def test_holding_register_0_is_config_address_0(station, client_of):
    client = client_of(station)
    force(station, "pump1_running", True)
    force(station, "pump1_fault", True)
    force(station, "pump2_running", False)
    force(station, "pump2_fault", True)

    registers = read_until(client, "holding", 0, 2, [0b11, 0b10])

    assert registers[0] == 0b11
    assert registers[1] == 0b10
    assert read(client, "holding", 1, 1) == [0b10]
    for point in ("pump1_running", "pump1_fault", "pump2_running", "pump2_fault"):
        release(station, point)


def test_float32_abcd_current_decodes_with_struct(station, client_of):
    client = client_of(station)
    force(station, "pump1_current", 71.25)

    registers = read_until(client, "input", 0, 2, [0x428E, 0x8000])

    assert float32(*registers) == 71.25
    release(station, "pump1_current")


def test_float32_cdab_outflow_decodes_with_word_swap(station, client_of):
    client = client_of(station)
    force(station, "outflow", 261.5)

    registers = read_until(client, "input", 5, 2, [0xC000, 0x4382])

    assert float32(registers[1], registers[0]) == 261.5
    release(station, "outflow")


def test_scaled_int16_pressure_forced_over_limit(station, client_of):
    client = client_of(station)
    force(station, "discharge_pressure", 6.78)
    registers = read_until(client, "input", 4, 1, [678])
    assert registers == [678]

    force(station, "discharge_pressure", -0.5)
    registers = read_until(client, "input", 4, 1, [0xFFCE])
    assert struct.unpack(">h", struct.pack(">H", registers[0]))[0] * 0.01 == -0.5
    release(station, "discharge_pressure")


def test_unforced_values_match_the_model_of_this_second(station, client_of):
    client = client_of(station)
    started = time.time()
    registers = read(client, "input", 0, 7)
    finished = time.time()

    currents = model_candidates("pumping_station", "pump1_current", started, finished)
    pressures = model_candidates(
        "pumping_station", "discharge_pressure", started, finished
    )
    flows = model_candidates("pumping_station", "outflow", started, finished)
    as_float32 = [struct.unpack(">f", struct.pack(">f", v))[0] for v in currents]
    assert float32(registers[0], registers[1]) in as_float32
    assert registers[4] in [round(v / 0.01) for v in pressures]
    as_float32 = [struct.unpack(">f", struct.pack(">f", v))[0] for v in flows]
    assert float32(registers[6], registers[5]) in as_float32


def test_forced_value_is_released_back_to_the_model(station, client_of):
    client = client_of(station)
    force(station, "discharge_pressure", 9.99)
    read_until(client, "input", 4, 1, [999])

    release(station, "discharge_pressure")
    registers = wait_until(lambda: (r := read(client, "input", 4, 1)) != [999] and r)

    assert 240 <= registers[0] <= 530


def test_address_past_the_last_tag_is_illegal(station, client_of):
    client = client_of(station)

    past_end = client.read_input_registers(7, count=1, device_id=1)
    no_coils = client.read_coils(0, count=1, device_id=1)
    write = client.write_register(0, 5, device_id=1)

    assert past_end.isError()
    assert past_end.exception_code == 2
    assert no_coils.isError()
    assert no_coils.exception_code == 2
    assert write.isError()
    assert write.exception_code == 2


def test_meter_int32_and_uint32_cdab_encodings(meter, client_of):
    client = client_of(meter)
    force(meter, "active_power", -12.3)
    force(meter, "energy", 123456789)
    force(meter, "frequency", 50.51)

    power = read_until(client, "input", 12, 2, [0xFFFF, 0xFF85])
    energy = read_until(client, "input", 15, 2, [0xCD15, 0x075B])
    frequency = read_until(client, "input", 14, 1, [5051])

    assert struct.unpack(">i", struct.pack(">HH", *power))[0] == -123
    assert struct.unpack(">I", struct.pack(">HH", energy[1], energy[0]))[0] == 123456789
    assert frequency == [5051]
    for point in ("active_power", "energy", "frequency"):
        release(meter, point)


def test_meter_voltages_are_read_as_float32(meter, client_of):
    client = client_of(meter)

    registers = read(client, "input", 0, 6)
    voltages = [float32(registers[i], registers[i + 1]) for i in (0, 2, 4)]

    for voltage in voltages:
        assert 225.0 < voltage < 235.0


def test_control_port_rejects_unknown_point(station):
    reply = send(station.control_port, {"force": "pump3_running", "value": True})

    assert reply["ok"] is False
    assert "unknown point 'pump3_running'" in reply["error"]


def test_control_port_rejects_bad_requests(station):
    not_forced = send(station.control_port, {"release": "outflow"})
    no_value = send(station.control_port, {"force": "outflow"})
    text_value = send(station.control_port, {"force": "outflow", "value": "high"})

    assert not_forced == {"ok": False, "error": "point 'outflow' is not forced"}
    assert no_value == {"ok": False, "error": "missing 'value' for force"}
    assert text_value["ok"] is False
    assert "expected a number or true/false" in text_value["error"]
