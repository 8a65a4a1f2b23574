"""``/metrics`` scraped after real requests, parsed with prometheus_client's own parser: the
families exist with the values the parts' statistics hold, on the in-process state and on Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart

from engine.segmenter.cache import MemorySegmentCache, SegmentKey
from engine.segmenter.workers import SegmentWorkers
from ingest.scanner import ScanStatistics
from ingest.state import State, open_state
from tests.fixtures.services import REDIS_URL, service_missing, tcp_answers
from web.app import Services, create_app
from web.events import Events
from web.metrics import Metrics, MetricSources, install_request_metrics, metrics_routes

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def state(request: pytest.FixtureRequest) -> AsyncIterator[State]:
    redis_url = None
    if request.param == "redis":
        if not tcp_answers(REDIS_URL, 6379):
            service_missing("Redis", REDIS_URL)
        redis_url = REDIS_URL
    prefix = f"reelbox-test:{uuid.uuid4().hex[:12]}:"
    async with open_state(redis_url, node_id="m", prefix=prefix) as state:
        yield state
        if redis_url is not None:
            await state.cache.delete("k")  # the only key the test writes


def build(sources: MetricSources, *, token: str | None = None) -> Quart:
    app = create_app(Services(version="test", scan_status=lambda: [{"library_id": 1}]))
    metrics = Metrics(sources)
    install_request_metrics(app, metrics)
    app.register_blueprint(metrics_routes(metrics, token=token))

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("boom")

    return app


async def scrape(app: Quart, **headers: str) -> dict[str, Metric]:
    response = await app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.get_data(as_text=True)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for family in families.values():
        assert family.name.startswith("reelbox_") and family.documentation, family.name
    return families


def value(families: dict[str, Metric], name: str, sample: str = "", **labels: str) -> float:
    """The one sample of family ``name`` (sample name ``name + sample``) with ``labels``."""
    matches = [
        s.value
        for s in families[name].samples
        if s.name == name + sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (name, labels, families[name].samples)
    return matches[0]


async def test_requests_and_every_part_are_exposed(state: State) -> None:
    segment_cache = MemorySegmentCache(1 << 20)
    workers = SegmentWorkers(segment_cache, encoders=3)
    events = Events(state.bus, node_id="m")
    scan = ScanStatistics(1, phase="probe", discovered=10, to_probe=8, probed=4, started_at=0.0)
    sources = MetricSources(
        playback_sessions=lambda: 2,
        segment_workers=workers.statistics,
        segment_cache=segment_cache.statistics,
        scans=lambda: {1: scan, 2: ScanStatistics(2, phase="done")},
        state=state.statistics,
        events=events.statistics,
    )
    app = build(sources)
    client = app.test_client()

    await segment_cache.put(SegmentKey("v1", "v0", "1"), b"x" * 100)
    assert await segment_cache.get(SegmentKey("v1", "v0", "1")) is not None
    assert await segment_cache.get(SegmentKey("v1", "v0", "2")) is None
    await state.cache.set("k", b"v", ttl_s=60)
    for key in ("k", "k", "k", "absent"):
        await state.cache.get(key)
    await events.library_changed(1, "added")

    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/api/scans")).status_code == 200
    assert (await client.get("/nowhere")).status_code == 404
    assert (await client.get("/boom")).status_code == 500

    m = await scrape(app)
    requests = "reelbox_http_requests"
    assert value(m, requests, "_total", route="/healthz", method="GET", status="200") == 3
    assert value(m, requests, "_total", route="/api/scans", status="200") == 1
    assert value(m, requests, "_total", route="<unmatched>", status="404") == 1
    assert value(m, requests, "_total", route="/boom", status="500") == 1

    latency = "reelbox_http_request_duration_seconds"
    assert m[latency].type == "histogram"
    buckets = [
        (float(s.labels["le"]), s.value)
        for s in m[latency].samples
        if s.name == latency + "_bucket" and s.labels["route"] == "/healthz"
    ]
    assert buckets == sorted(buckets) and buckets[-1] == (float("inf"), 3)
    assert value(m, latency, "_count", route="/healthz") == 3
    assert 0 < value(m, latency, "_sum", route="/healthz") < 5

    assert value(m, "reelbox_playback_sessions") == 2
    assert value(m, "reelbox_segment_encoders") == 3
    assert value(m, "reelbox_segment_encodes_running") == 0
    assert value(m, "reelbox_segment_jobs", "_total", outcome="produced") == 0
    assert m["reelbox_segment_rejected"].type == "counter"
    assert value(m, "reelbox_segment_cache_hits", "_total") == 1
    assert value(m, "reelbox_segment_cache_misses", "_total") == 1
    assert value(m, "reelbox_segment_cache_hit_ratio") == 0.5
    assert value(m, "reelbox_segment_cache_bytes") == 100

    assert value(m, "reelbox_scan_phase", library="1", phase="probe") == 1
    assert value(m, "reelbox_scan_phase", library="1", phase="idle") == 0
    assert value(m, "reelbox_scan_files", library="1", state="discovered") == 10
    assert value(m, "reelbox_scan_progress_ratio", library="1") == 0.5
    assert value(m, "reelbox_scan_progress_ratio", library="2") == 1.0

    assert value(m, "reelbox_state_cache_hits", "_total") == 3
    assert value(m, "reelbox_state_cache_misses", "_total") == 1
    assert value(m, "reelbox_state_cache_hit_ratio") == 0.75
    assert value(m, "reelbox_bus_events", "_total", stage="published") == 1
    assert value(m, "reelbox_bus_connected") == 1
    assert value(m, "reelbox_state_failures", "_total", port="cache") == 0

    assert value(m, "reelbox_websocket_connections") == 0
    assert value(m, "reelbox_events_published", "_total") == 1
    assert value(m, "reelbox_remote_commands", "_total", stage="sent") == 0

    # The scrape itself is a request like any other, counted by the next one.
    again = await scrape(app)
    assert value(again, requests, "_total", route="/metrics", status="200") == 1


async def test_websocket_connections_are_counted(state: State) -> None:
    events = Events(state.bus, node_id="m")
    app = build(MetricSources(events=events.statistics))
    events.counts.live, events.counts.opened, events.counts.slow_disconnects = 2, 5, 1
    m = await scrape(app)
    assert value(m, "reelbox_websocket_connections") == 2
    assert value(m, "reelbox_websocket_opened", "_total") == 5
    assert value(m, "reelbox_websocket_closed", "_total", reason="slow") == 1


async def test_a_failing_source_is_left_out_of_the_scrape() -> None:
    def broken() -> Any:
        raise RuntimeError("statistics failed")

    app = build(MetricSources(playback_sessions=broken, scans=dict))
    m = await scrape(app)
    assert "reelbox_playback_sessions" not in m
    assert "reelbox_scan_phase" in m and "reelbox_http_requests" in m


async def test_the_bearer_token_guards_the_scrape() -> None:
    app = build(MetricSources(), token="s3cret")
    client = app.test_client()
    refused = await client.get("/metrics")
    assert refused.status_code == 401
    assert (await refused.get_json())["error"]["code"] == "unauthorized"
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    m = await scrape(app, Authorization="Bearer s3cret")
    assert value(m, "reelbox_http_requests", "_total", route="/metrics", status="401") == 2


async def test_openmetrics_for_scrapers_that_ask() -> None:
    app = build(MetricSources(playback_sessions=lambda: 1))
    response = await app.test_client().get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.get_data(as_text=True)
    assert text.rstrip().endswith("# EOF") and "reelbox_playback_sessions 1" in text


async def test_two_apps_never_share_counts() -> None:
    first, second = build(MetricSources()), build(MetricSources())
    await first.test_client().get("/healthz")
    m = await scrape(second)
    assert not [
        s for s in m["reelbox_http_requests"].samples if s.labels.get("route") == "/healthz"
    ]
