"""The v2 write path against a local HTTP receiver that checks every request."""

import asyncio
import gzip

import pytest
from aiohttp import web

from historian.influx_store import InfluxWriter
from historian.quarantine import Quarantine
from tests.influx_server import free_port
from vigie.config import InfluxConfig
from vigie.model import Sample

T0 = 1717236000.0


class Receiver:
    """An /api/v2/write endpoint that responds from a script of statuses."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    async def handle(self, request: web.Request) -> web.Response:
        # aiohttp inflates a body sent with Content-Encoding: gzip, and responds 400
        # when it is not valid gzip.
        raw = await request.read()
        body = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
        self.requests.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "authorization": request.headers.get("Authorization"),
                "encoding": request.headers.get("Content-Encoding"),
                "lines": body.split("\n"),
            }
        )
        status, headers, text = self.answers.pop(0) if self.answers else (204, {}, "")
        if callable(status):
            status, text = status(body)
        return web.Response(status=status, headers=headers, text=text)


@pytest.fixture
async def receiver_url():
    receivers = []

    async def start(answers):
        receiver = Receiver(answers)
        app = web.Application()
        app.router.add_post("/api/v2/write", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        receivers.append(runner)
        return receiver, f"http://127.0.0.1:{port}"

    yield start
    for runner in receivers:
        await runner.cleanup()


def settings_for(url):
    return InfluxConfig(
        url=url, api="v2", org="water", bucket="scada", token_env="VIGIE_TEST_TOKEN"
    )


async def write_until(writer, batch, condition, timeout_s=20.0):
    await writer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    writer.submit(batch)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 20)


async def test_v2_request_has_token_org_bucket_gzip(receiver_url, monkeypatch):
    monkeypatch.setenv("VIGIE_TEST_TOKEN", "s3cret")
    receiver, url = await receiver_url([(204, {}, "")])
    writer = InfluxWriter(settings_for(url), 100, 3600)
    batch = [Sample("PS1.flow", T0, 12.5), Sample("PS1.flow", T0 + 1, 3)]

    # The stop flushes the batch, long before the flush interval.
    await write_until(writer, batch, lambda: True)

    request = receiver.requests[0]
    assert request["path"] == "/api/v2/write"
    assert request["query"] == {"org": "water", "bucket": "scada", "precision": "ns"}
    assert request["authorization"] == "Token s3cret"
    assert request["encoding"] == "gzip"
    assert request["lines"] == [
        "telemetry,device=PS1,tag=PS1.flow quality=0i,value=12.5 1717236000000000000",
        "telemetry,device=PS1,tag=PS1.flow quality=0i,value=3.0 1717236001000000000",
    ]


async def test_v2_retries_429_after_retry_after(receiver_url, monkeypatch):
    monkeypatch.setenv("VIGIE_TEST_TOKEN", "s3cret")
    receiver, url = await receiver_url(
        [(429, {"Retry-After": "1"}, "slow down"), (503, {}, "busy"), (204, {}, "")]
    )
    writer = InfluxWriter(settings_for(url), 100, 0.05, retry_min_s=0.05)
    batch = [Sample("PS1.flow", T0, 1.5)]
    after_429 = []
    writer_failure = writer._on_failure

    def record_failure(err, count):
        writer_failure(err, count)
        after_429.append(writer._retry_delay())

    writer._on_failure = record_failure

    await write_until(writer, batch, lambda: writer.stats()["written"] == 1)

    assert len(receiver.requests) == 3
    assert receiver.requests[2]["lines"] == receiver.requests[0]["lines"]
    assert after_429[0] >= 1.0
    assert writer.stats()["errors"] == 2
    assert writer.stats()["quarantined"] == 0


async def test_v2_bad_point_quarantined_rest_written(
    receiver_url, monkeypatch, tmp_path
):
    monkeypatch.setenv("VIGIE_TEST_TOKEN", "s3cret")

    def reject_bad(body):
        if "PS1.bad" in body:
            return 400, '{"code":"invalid","message":"unable to parse point"}'
        return 204, ""

    receiver, url = await receiver_url([(reject_bad, {}, "")] * 10)
    quarantine = Quarantine(tmp_path / "quarantine.sqlite")
    writer = InfluxWriter(settings_for(url), 100, 3600, quarantine=quarantine)
    batch = [Sample("PS1.flow", T0 + i, float(i)) for i in range(4)]
    batch.insert(2, Sample("PS1.bad", T0, 1.0))

    await write_until(writer, batch, lambda: True)

    stats = writer.stats()
    assert stats["written"] == 4
    assert stats["quarantined"] == 1
    assert stats["errors"] == 0
    rows = quarantine.rows()
    assert rows == [
        (
            "PS1.bad",
            1717236000000000000,
            'HTTP 400: {"code":"invalid","message":"unable to parse point"}',
        )
    ]
    written = [line for r in receiver.requests for line in r["lines"]]
    assert sum("PS1.flow" in line for line in written) >= 4
