"""Unit ids, transaction ids, late and malformed replies, on a hand-framed server."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from modbus_fake import (
    FakeModbusServer,
    exception_reply,
    registers_pdu,
    reply,
    tcp_frame,
)
from modbus_server import (
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)

from collectors.modbus.collector import ModbusCollector
from collectors.modbus.connection import RequestTimeout, open_connection
from vigie.model import ConnectionState, Quality

VALUE_TAG = [{"name": "value", "address": 0, "type": "uint32"}]
PAIR_TAGS = [
    {"name": "first", "address": 0, "type": "uint16"},
    {"name": "second", "address": 1, "type": "uint16"},
]


async def run_until(fake, device, condition_of_status):
    """Run a collector until the condition holds; the status is copied at that point."""
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(device, recorder, status)
    async with RunningCollector(collector):
        reached = await wait_until(lambda: condition_of_status(status), timeout_s=10)
        seen = dataclasses.replace(status)
    return reached, seen, recorder


async def test_unit_id_0_sent_and_answered():
    def respond(request):
        if request.unit_id == 0:
            return [(0, reply(request, [0, 42]))]
        return None

    fake = FakeModbusServer(respond)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG, unit_id=0)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    assert fake.requests[0].raw == bytes.fromhex("000100000006000300000002")
    assert recorder.latest()["DEV.value"].value == 42
    assert recorder.latest()["DEV.value"].quality is Quality.GOOD


async def test_unit_id_255_unanswered_times_out():
    def respond(request):
        return None if request.unit_id == 255 else [(0, reply(request, [0, 1]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG, unit_id=255, timeout_s=0.2)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.reconnects >= 1
        )
    finally:
        await fake.stop()

    assert reached
    assert fake.requests[0].unit_id == 255
    assert status.state is ConnectionState.DISCONNECTED
    assert status.last_error.startswith("no reply from unit id 255 in time (0.2 s)")
    sample = recorder.latest()["DEV.value"]
    assert sample.value is None
    assert sample.quality is Quality.BAD
    assert sample.reason == "comm_failure"


def answer_from_unit_0(request):
    return [(0, reply(request, [0, 42], unit_id=0))]


async def test_unit_mismatch_strict_is_bad_logged_once(caplog):
    fake = FakeModbusServer(answer_from_unit_0)
    port = await fake.start()
    caplog.set_level(logging.WARNING, logger="collectors.modbus.collector")
    try:
        device = make_device(port, VALUE_TAG, unit_id=1)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 4
        )
    finally:
        await fake.stop()

    assert reached
    sample = recorder.latest()["DEV.value"]
    assert sample.value is None
    assert sample.quality is Quality.BAD
    assert sample.reason == "bad_frame"
    # A reply is a sign of life: no communication loss, no reconnect.
    assert status.state is ConnectionState.CONNECTED
    assert status.reconnects == 0
    warnings = [
        r
        for r in caplog.records
        if "from unit id 0 to a request for unit id 1" in r.message
    ]
    assert len(warnings) == 1


async def test_unit_mismatch_accepted_with_quirk():
    fake = FakeModbusServer(answer_from_unit_0)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG, unit_id=1, accept_any_unit_id=True)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    assert recorder.latest()["DEV.value"].value == 42


def swapped_tid(request):
    swapped = int.from_bytes(request.tid.to_bytes(2, "big"), "little")
    return [(0, reply(request, [0, 0], tid=swapped))]


async def test_swapped_transaction_id_rejected_strict():
    fake = FakeModbusServer(swapped_tid)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    sample = recorder.latest()["DEV.value"]
    assert sample.value is None
    assert sample.reason == "bad_frame"
    # Each poll sends the request and one retry.
    assert [r.tid for r in fake.requests[:2]] == [1, 2]
    assert status.reconnects == 0


def next_tid(request):
    return [(0, reply(request, [5, 1], tid=request.tid + 1))]


async def test_gateway_tid_plus_one_accepted_when_off():
    fake = FakeModbusServer(next_tid)
    port = await fake.start()
    try:
        device = make_device(port, PAIR_TAGS, tid_check="off")
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    latest = recorder.latest()
    assert latest["DEV.first"].value == 5
    assert latest["DEV.second"].value == 1


async def test_gateway_tid_plus_one_rejected_strict():
    fake = FakeModbusServer(next_tid)
    port = await fake.start()
    try:
        device = make_device(port, PAIR_TAGS)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    assert recorder.latest()["DEV.first"].reason == "bad_frame"


def zero_tid(request):
    return [(0, reply(request, [0, 7], tid=0))]


async def test_tid_zero_accepted_with_zero_ok():
    fake = FakeModbusServer(zero_tid)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG, tid_check="zero_ok")
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    assert recorder.latest()["DEV.value"].value == 7


async def test_tid_zero_rejected_strict():
    fake = FakeModbusServer(zero_tid)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 2
        )
    finally:
        await fake.stop()

    assert reached
    assert recorder.latest()["DEV.value"].reason == "bad_frame"


LATE_TAGS = [
    {"name": "A", "address": 100, "type": "uint32"},
    {"name": "B", "address": 200, "type": "uint32"},
]


async def late_reply_case(one_segment: bool):
    """Tag A's reply is held past its timeout and arrives just before B's."""
    state = {"hold": False, "held": None}

    def respond(request):
        if request.address == 100:
            if state["hold"] and state["held"] is None:
                state["held"] = request
                return None
            return [(0, reply(request, [0, 7]))]
        if state["held"] is not None and state["hold"]:
            state["hold"] = False
            late = reply(state["held"], [0, 1])
            answer = reply(request, [0, 2])
            if one_segment:
                return [(0.05, late + answer)]
            return [(0.05, late), (0.1, answer)]
        return [(0, reply(request, [0, 2]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, LATE_TAGS, timeout_s=0.3, retries=0)
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            state["hold"] = True
            held_at = len(recorder.batches)
            assert await wait_until(lambda: not state["hold"])
            assert await wait_until(lambda: status.polls >= 8)
    finally:
        await fake.stop()
    return fake, status, recorder, held_at


def samples_of(recorder, tag, since=0):
    return [s for batch in recorder.batches[since:] for s in batch if s.tag == tag]


async def test_late_reply_discarded_separate_segments(caplog):
    caplog.set_level(logging.INFO, logger="collectors.modbus.connection")
    fake, status, recorder, held_at = await late_reply_case(one_segment=False)

    b_values = [s.value for s in samples_of(recorder, "DEV.B")]
    assert 1 not in b_values
    assert set(b_values) == {2}
    a_after = samples_of(recorder, "DEV.A", since=held_at)
    assert a_after[0].quality is Quality.BAD
    assert a_after[-1].value == 7
    assert fake.connections_accepted == 1
    assert any("discarded a late reply" in r.message for r in caplog.records)


async def test_late_reply_discarded_one_segment():
    fake, status, recorder, held_at = await late_reply_case(one_segment=True)

    b_values = [s.value for s in samples_of(recorder, "DEV.B")]
    assert 1 not in b_values
    assert set(b_values) == {2}
    assert samples_of(recorder, "DEV.A")[-1].value == 7
    assert fake.connections_accepted == 1


async def test_short_reply_is_bad_frame_then_recovers():
    state = {"short": True}

    def respond(request):
        if state["short"]:
            # One register of data for a read of two.
            return [(0, tcp_frame(request.tid, request.unit_id, bytes([3, 2, 0, 9])))]
        return [(0, reply(request, [0, 9]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    try:
        device = make_device(port, VALUE_TAG)
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            bad = recorder.latest()["DEV.value"]
            state["short"] = False
            assert await wait_until(lambda: recorder.latest()["DEV.value"].value == 9)
    finally:
        await fake.stop()

    assert bad.value is None
    assert bad.reason == "bad_frame"
    assert status.reconnects == 0


async def test_wrong_function_code_is_bad_frame_logged_once(caplog):
    state = {"wrong": True}

    def respond(request):
        if state["wrong"]:
            # Input-register data answering a holding-register read.
            pdu = registers_pdu(4, [0, 9])
            return [(0, tcp_frame(request.tid, request.unit_id, pdu))]
        return [(0, reply(request, [0, 9]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="collectors.modbus.collector")
    try:
        device = make_device(port, VALUE_TAG)
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.errors >= 4)
            bad = recorder.latest()["DEV.value"]
            state["wrong"] = False
            assert await wait_until(lambda: recorder.latest()["DEV.value"].value == 9)
    finally:
        await fake.stop()

    assert bad.value is None
    assert bad.quality == Quality.BAD
    assert bad.reason == "bad_frame"
    failures = [r for r in caplog.records if "failed (bad_frame)" in r.getMessage()]
    assert len(failures) == 1
    recoveries = [r for r in caplog.records if "succeeds again" in r.getMessage()]
    assert len(recoveries) == 1


async def test_malformed_header_resets_connection():
    state = {"broken": True}

    def respond(request):
        if state["broken"]:
            state["broken"] = False
            # Protocol id 1: the stream cannot be trusted past this header.
            return [(0, bytes.fromhex("000100010005010302002a"))]
        return [(0, reply(request, [0, 3]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    try:
        device = make_device(port, VALUE_TAG, retries=0)
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(
                lambda: recorder.latest().get("DEV.value") is not None
            )
            first = recorder.latest()["DEV.value"]
            assert await wait_until(lambda: recorder.latest()["DEV.value"].value == 3)
    finally:
        await fake.stop()

    assert first.reason == "bad_frame"
    assert fake.connections_accepted == 2


async def test_busy_device_is_retried():
    answers = {"busy": 2}

    def respond(request):
        if answers["busy"] > 0:
            answers["busy"] -= 1
            return [(0, exception_reply(request, 6))]
        return [(0, reply(request, [0, 11]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    try:
        device = make_device(port, VALUE_TAG, busy_retry_delay_ms=10)
        reached, status, recorder = await run_until(
            fake, device, lambda s: s.polls >= 1
        )
    finally:
        await fake.stop()

    assert reached
    assert recorder.batches[0][0].value == 11
    assert len(fake.requests) >= 3


async def test_each_request_times_out_at_its_own_deadline():
    # Two unit ids on one connection with different timeouts: the short request sent
    # after the long one still times out first, and a request replied to in between
    # is not disturbed.
    def respond(request):
        if request.unit_id == 3:
            return [(0, reply(request, [0, 9]))]
        return None

    fake = FakeModbusServer(respond)
    port = await fake.start()
    try:
        connection = await open_connection("127.0.0.1", port, "tcp", 5.0)
        long_read = asyncio.ensure_future(connection.read(1, 3, 0, 2, 3.0))
        await asyncio.sleep(0.05)
        short_read = asyncio.ensure_future(connection.read(2, 3, 0, 2, 0.2))
        answered = await connection.read(3, 3, 0, 2, 5.0)

        with pytest.raises(RequestTimeout, match="unit id 2"):
            await short_read
        long_pending_when_short_expired = not long_read.done()
        with pytest.raises(RequestTimeout, match="unit id 1"):
            await long_read
        # With nothing else in flight, the timer is armed again for a new request.
        with pytest.raises(RequestTimeout, match="unit id 2"):
            await asyncio.wait_for(connection.read(2, 3, 0, 2, 0.1), 5.0)
    finally:
        connection.close()
        await fake.stop()

    assert answered.values == [0, 9]
    assert long_pending_when_short_expired
    assert connection.pending == {}


async def test_reply_to_cancelled_read_discarded_as_late(caplog):
    # The reply to a read given up before it came must not fail the read after it.
    caplog.set_level(logging.INFO, logger="collectors.modbus.connection")

    def respond(request):
        if request.address == 100:
            return [(0.3, reply(request, [0, 1]))]
        return [(0, reply(request, [0, 2]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    try:
        connection = await open_connection("127.0.0.1", port, "tcp", 5.0)
        given_up = asyncio.ensure_future(connection.read(1, 3, 100, 2, 5.0))
        await asyncio.sleep(0.05)
        given_up.cancel()
        await asyncio.gather(given_up, return_exceptions=True)
        answer = await connection.read(1, 3, 200, 2, 5.0)
    finally:
        connection.close()
        await fake.stop()

    assert answer.values == [0, 2]
    assert connection.late_replies == 1
    assert any("discarded a late reply" in r.message for r in caplog.records)


TWO_BLOCKS = [
    {"name": "low", "address": 0, "type": "uint16"},
    {"name": "high", "address": 500, "type": "uint16"},
]


async def test_silent_device_stores_each_tag_bad_once():
    # Both requests of a poll time out: the loss of communication marks every tag
    # bad once, and the first request's tags are not marked bad a second time.
    state = {"silent": False}

    def respond(request):
        if state["silent"]:
            return None
        return [(0, reply(request, [7] * request.count))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TWO_BLOCKS, timeout_s=0.2, retries=0)
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            state["silent"] = True
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
    finally:
        await fake.stop()

    def bad(tag):
        return [
            s
            for batch in recorder.batches
            for s in batch
            if s.tag == tag and s.quality is Quality.BAD
        ]

    assert [s.reason for s in bad("DEV.low")] == ["comm_failure"]
    assert [s.reason for s in bad("DEV.high")] == ["comm_failure"]
