"""InfluxDB writer hot path: batch formatting, look-ahead and request encoding.

The HTTP receiver is a real aiohttp server on loopback that plays InfluxDB's
``/write`` and records every request body in arrival order.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from historian.influx_store import InfluxWriter
from historian.kinds import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    STRING,
    StorageTypeError,
    measurement_for,
)
from historian.lineproto import LineProtocolError, SampleFormatter, format_sample
from tests.ports import free_port
from vigie.config import InfluxConfig
from vigie.model import Quality, Sample

TS = 1_717_200_000.25
BATCH = 50


class WriteReceiver:
    """Returns 204 to POST /write, or the statuses queued in ``failures``."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.encodings: list[str | None] = []
        # (bytes sent, bytes of the decompressed body) of each request.
        self.sizes: list[tuple[int, int]] = []
        self.failures: list[int] = []
        # A body that contains this text gets 400, as a field type conflict does.
        self.reject_marker: str | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def write(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # aiohttp decompresses a gzip body; Content-Length is the size sent.
            body = await request.read()
            # Holding each request open lets the writer's look-ahead run meanwhile.
            await asyncio.sleep(0.02)
            self.encodings.append(request.headers.get("Content-Encoding"))
            self.sizes.append((request.content_length, len(body)))
            self.bodies.append(body.decode())
            if self.reject_marker and self.reject_marker in self.bodies[-1]:
                return web.Response(status=400, text="field type conflict")
            if self.failures:
                return web.Response(status=self.failures.pop(0), text="overloaded")
            return web.Response(status=204)
        finally:
            self.in_flight -= 1

    async def query(self, request: web.Request) -> web.Response:
        return web.json_response({"results": [{"statement_id": 0}]})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/write", self.write)
        app.router.add_post("/query", self.query)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()

    def accepted_lines(self, statuses: list[int]) -> list[str]:
        """Return the lines of the bodies that got 204, given each body's status."""
        lines = []
        for body, status in zip(self.bodies, statuses):
            if status == 204:
                lines.extend(body.split("\n"))
        return lines


@pytest.fixture
async def receiver():
    receiver = WriteReceiver()
    url = await receiver.start()
    receiver.url = url
    yield receiver
    await receiver.stop()


def samples_of(count: int, tags: int = 7) -> list[Sample]:
    return [
        Sample(f"D{i % tags % 3}.t{i % tags}", TS + i // tags, i * 0.5)
        for i in range(count)
    ]


async def write_through(writer: InfluxWriter, batches: list[list[Sample]]) -> None:
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    for batch in batches:
        writer.submit(batch)
    stop.set()
    await asyncio.wait_for(task, 30)


def expected_lines(samples: list[Sample]) -> list[str]:
    return [format_sample("telemetry", sample) for sample in samples]


async def test_look_ahead_keeps_post_order(receiver):
    samples = samples_of(BATCH * 6 + 17)
    writer = InfluxWriter(InfluxConfig(url=receiver.url), BATCH, 0.05)

    await write_through(
        writer, [samples[i : i + 10] for i in range(0, len(samples), 10)]
    )

    assert receiver.accepted_lines([204] * len(receiver.bodies)) == expected_lines(
        samples
    )
    assert len(receiver.bodies) == 7
    assert receiver.max_in_flight == 1
    assert writer.stats()["written"] == len(samples)


async def test_failed_post_is_retried_in_order(receiver):
    samples = samples_of(BATCH * 4)
    receiver.failures = [503]
    writer = InfluxWriter(
        InfluxConfig(url=receiver.url), BATCH, 0.05, retry_min_s=0.01, retry_max_s=0.02
    )

    await write_through(writer, [samples])

    statuses = [503] + [204] * (len(receiver.bodies) - 1)
    assert receiver.accepted_lines(statuses) == expected_lines(samples)
    assert len(receiver.bodies) == 5
    assert receiver.bodies[0] == receiver.bodies[1]
    assert writer.stats()["written"] == len(samples)
    assert writer.stats()["errors"] == 1


@pytest.mark.parametrize(("level", "encoding"), [(0, None), (1, "gzip"), (9, "gzip")])
async def test_gzip_level_sets_encoding(receiver, level, encoding):
    samples = samples_of(BATCH)
    writer = InfluxWriter(InfluxConfig(url=receiver.url), BATCH, 0.05, gzip_level=level)

    await write_through(writer, [samples])

    assert receiver.encodings == [encoding]
    assert receiver.bodies[0].split("\n") == expected_lines(samples)
    sent, decoded = receiver.sizes[0]
    assert (sent < decoded) is (level > 0)


def test_gzip_level_out_of_range_rejected():
    with pytest.raises(ValueError, match="gzip level 10 is invalid"):
        InfluxWriter(InfluxConfig(), BATCH, 1.0, gzip_level=10)


async def test_rejected_point_found_from_prepared_body(receiver):
    """A 400 on a body prepared ahead is split until the one bad sample is left."""
    samples = samples_of(BATCH * 3)
    bad = Sample("D9.bad", TS, 1.0)
    samples.insert(BATCH + 20, bad)
    receiver.reject_marker = "tag=D9.bad"
    writer = InfluxWriter(InfluxConfig(url=receiver.url), BATCH, 0.05)

    await write_through(writer, [samples])

    statuses = [
        400 if receiver.reject_marker in body else 204 for body in receiver.bodies
    ]
    good = [sample for sample in samples if sample is not bad]
    assert receiver.accepted_lines(statuses) == expected_lines(good)
    assert writer.stats()["quarantined"] == 1
    assert writer.stats()["written"] == len(good)


VALUES = st.one_of(
    st.floats(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
)


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["PS1.a", "PS1.b c", "FDR1.e=x", "bad\nname"]),
            st.sampled_from([TS, TS + 1.5, 10.0, 946_684_800.0]),
            VALUES,
            st.sampled_from(list(Quality)),
        ),
        max_size=12,
    ),
    kinds=st.fixed_dictionaries(
        {},
        optional={
            "PS1.a": st.sampled_from([FLOAT, INTEGER, BOOLEAN, STRING]),
            "PS1.b c": st.sampled_from([FLOAT, INTEGER, BOOLEAN, STRING]),
            "FDR1.e=x": st.sampled_from([FLOAT, INTEGER, BOOLEAN, STRING]),
        },
    ),
)
def test_batch_lines_match_format_sample(rows, kinds):
    """lines() gives format_sample's line, or its error, for every sample in order."""
    chunk = [
        Sample(tag, ts, value, quality, "stale" if quality else "")
        for tag, ts, value, quality in rows
    ]
    expected_lines = []
    expected_errors = []
    for sample in chunk:
        try:
            kind = kinds.get(sample.tag)
            measurement = measurement_for("telemetry", kind)
            expected_lines.append(format_sample(measurement, sample, kind))
        except (LineProtocolError, StorageTypeError) as err:
            expected_errors.append((sample, type(err), str(err)))

    lines, rejected = SampleFormatter("telemetry", kinds).lines(chunk)

    assert lines == expected_lines
    assert [(sample, type(err), str(err)) for sample, err in rejected] == (
        expected_errors
    )
