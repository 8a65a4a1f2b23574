"""``/metrics``: what this node is doing, in the Prometheus exposition format.

``prometheus_client`` writes the format (and negotiates OpenMetrics with scrapers that ask for
it); nothing here keeps counts of its own except the HTTP ones. Everything else is read at scrape
time from the ``statistics()`` records of the parts (``MetricSources``), so the metrics can never
drift from what the parts themselves report. Each app has its own registry: two apps in one
process (tests, two nodes) never share a count.

Families (every name starts ``reelbox_``; counters end ``_total``):

- HTTP: ``http_requests_total{method,route,status}`` and the latency histogram
  ``http_request_duration_seconds{method,route}`` (to the response head: a streamed body is not
  waited for), from ``install_request_metrics``. ``route`` is the URL rule
  (``/api/items/<int:item_id>``), never the raw path, so the label set stays small; requests no
  route matched are ``<unmatched>``.
- playback: ``playback_sessions``.
- segment workers: ``segment_jobs_in_flight``, ``segment_encodes_running``,
  ``segment_encodes_queued``, ``segment_encoders``, ``segment_encode_seconds_mean``,
  ``segment_jobs_total{outcome=produced|failed|cancelled}``, ``segment_rejected_total``,
  ``segment_joins_total``; the segment cache's ``segment_cache_{hits,misses,evictions}_total``,
  ``segment_cache_{entries,bytes,max_bytes,hit_ratio}``.
- scans, per library: ``scan_phase{library,phase}`` (1 for the current phase), ``scan_files
  {library,state}``, ``scan_progress_ratio``, ``scan_elapsed_seconds``, ``scan_files_per_second``.
- shared state: ``state_cache_{hits,misses,sets,evictions}_total``, ``state_cache_entries``,
  ``state_cache_hit_ratio``, ``bus_events_total{stage=published|delivered|dropped|lost}``,
  ``bus_subscribers``, ``bus_connected``, ``bus_reconnects_total``,
  ``login_session_lookups_total{result}``, ``rate_limit_checks_total{result}``,
  ``state_failures_total{port}``.
- WebSockets and events: ``websocket_connections``, ``websocket_devices``,
  ``websocket_opened_total``, ``websocket_closed_total{reason}``, ``websocket_messages_sent_total``,
  ``websocket_malformed_total``, ``websocket_events_filtered_total``,
  ``remote_commands_total{stage=sent|delivered}``, ``events_published_total``,
  ``events_publish_failures_total``.
- auth: ``auth_logins_total{result}``, ``auth_refreshes_total``, ``auth_refresh_reuse_total``,
  ``auth_sessions_revoked_total``.

A source whose ``statistics()`` raises is logged and left out of that scrape; the rest answers.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import anyio
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from quart import Blueprint, Quart, Response, g, request

from engine.segmenter.cache import CacheStatistics as SegmentCacheStatistics
from engine.segmenter.workers import WorkerStatistics
from ingest.scanner import ScanStatistics
from ingest.state import StateStatistics
from web.auth import Unauthorized
from web.auth.service import AuthStatistics
from web.events import EventsStatistics

log = structlog.get_logger(__name__)

UNMATCHED = "<unmatched>"
# Seconds: API answers take milliseconds, playlists tens, a transcoded segment about one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SCAN_PHASES = ("idle", "discover", "probe", "remove", "done", "failed")
SCAN_FILES = (
    "discovered",
    "unchanged",
    "to_probe",
    "probed",
    "failed",
    "added",
    "updated",
    "moved",
    "removed",
)


@dataclass(frozen=True, slots=True)
class MetricSources:
    """Where the numbers come from: each a ``statistics()`` of a part, None if there is none."""

    playback_sessions: Callable[[], int] | None = None
    segment_workers: Callable[[], WorkerStatistics] | None = None
    segment_cache: Callable[[], SegmentCacheStatistics] | None = None
    scans: Callable[[], Mapping[int, ScanStatistics]] | None = None
    state: Callable[[], StateStatistics] | None = None
    events: Callable[[], EventsStatistics] | None = None
    auth: Callable[[], AuthStatistics] | None = None


class Metrics:
    """One app's registry: the HTTP request metrics and the parts' statistics."""

    def __init__(
        self,
        sources: MetricSources | None = None,
        *,
        buckets: Iterable[float] = LATENCY_BUCKETS,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "reelbox_http_requests",
            "HTTP requests answered, by method, route and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "reelbox_http_request_duration_seconds",
            "Time from the request to the response head, by method and route",
            ("method", "route"),
            buckets=tuple(buckets),
            registry=self.registry,
        )
        self.registry.register(_Statistics(sources or MetricSources()))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(max(0.0, seconds))

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition for a scraper sending ``accept``, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def install_request_metrics(app: Quart, metrics: Metrics) -> None:
    """Count and time every HTTP request of ``app`` (WebSockets have their own metrics)."""

    async def started() -> None:
        g.reelbox_metrics_started = anyio.current_time()

    async def answered(response: Response) -> Response:
        began: float | None = g.get("reelbox_metrics_started")
        if began is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED
            metrics.observe(
                request.method, route, response.status_code, anyio.current_time() - began
            )
        return response

    # First of the before-request hooks, so the time includes authentication.
    app.before_request_funcs.setdefault(None, []).insert(0, started)
    app.after_request(answered)


def metrics_routes(metrics: Metrics, *, token: str | None = None) -> Blueprint:
    """``GET /metrics``; with ``token`` only for ``Authorization: Bearer <token>`` (Prometheus's
    ``authorization`` scrape setting), else open, as scrapers usually expect."""
    routes = Blueprint("metrics", __name__)
    expected = f"Bearer {token}".encode() if token else None

    @routes.get("/metrics")
    async def scrape() -> Response:
        if expected is not None:
            offered = request.headers.get("Authorization", "").strip().encode()
            if not hmac.compare_digest(offered, expected):
                raise Unauthorized("/metrics needs the metrics bearer token")
        body, content_type = metrics.render(request.headers.get("Accept"))
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    return routes


# --- the parts' statistics as metric families -------------------------------------------------


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=tuple(labels))
    family.add_metric(tuple(labels.values()), value)
    return family


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _counters(name: str, doc: str, label: str, values: Mapping[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=(label,))
    for key, value in values.items():
        family.add_metric((key,), value)
    return family


def _ratio(hits: int, misses: int) -> float:
    total = hits + misses
    return hits / total if total else 0.0


class _Statistics(Collector):
    def __init__(self, sources: MetricSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        s = self._sources
        parts: list[tuple[str, Callable[[], Iterator[Metric]] | None]] = [
            ("playback", None if s.playback_sessions is None else self._playback),
            ("segment_workers", None if s.segment_workers is None else self._workers),
            ("segment_cache", None if s.segment_cache is None else self._segment_cache),
            ("scans", None if s.scans is None else self._scans),
            ("state", None if s.state is None else self._state),
            ("events", None if s.events is None else self._events),
            ("auth", None if s.auth is None else self._auth),
        ]
        for name, part in parts:
            if part is None:
                continue
            try:
                families = list(part())
            except Exception:
                log.exception("metrics.source_failed", source=name)
                continue
            yield from families

    def _playback(self) -> Iterator[Metric]:
        assert self._sources.playback_sessions is not None
        sessions = self._sources.playback_sessions()
        yield _gauge("reelbox_playback_sessions", "Playback sessions open on this node", sessions)

    def _workers(self) -> Iterator[Metric]:
        assert self._sources.segment_workers is not None
        w = self._sources.segment_workers()
        yield _gauge(
            "reelbox_segment_jobs_in_flight", "Segments being produced or queued", w.in_flight
        )
        yield _gauge("reelbox_segment_encodes_running", "Encodes holding an encoder", w.encoding)
        yield _gauge(
            "reelbox_segment_encodes_queued", "Encodes waiting for an encoder", w.waiting_encodes
        )
        yield _gauge("reelbox_segment_encoders", "Encoders (concurrent encodes)", w.encoders)
        yield _gauge(
            "reelbox_segment_encode_seconds_mean",
            "Recent mean time of one encode (a running average)",
            w.mean_encode_s,
        )
        yield _counters(
            "reelbox_segment_jobs",
            "Segment jobs ended, by outcome",
            "outcome",
            {"produced": w.produced, "failed": w.failed, "cancelled": w.cancelled},
        )
        yield _counter(
            "reelbox_segment_rejected", "Encodes refused because encoders were full", w.rejected
        )
        yield _counter(
            "reelbox_segment_joins", "Requests that joined a segment already in flight", w.joins
        )
        if self._sources.segment_cache is None:
            yield _counter("reelbox_segment_cache_hits", "Segments served from the cache", w.hits)

    def _segment_cache(self) -> Iterator[Metric]:
        assert self._sources.segment_cache is not None
        c = self._sources.segment_cache()
        yield _counter("reelbox_segment_cache_hits", "Segments served from the cache", c.hits)
        yield _counter("reelbox_segment_cache_misses", "Segments not in the cache", c.misses)
        yield _counter(
            "reelbox_segment_cache_evictions", "Segments dropped to stay in bounds", c.evictions
        )
        yield _gauge("reelbox_segment_cache_entries", "Segments cached", c.entries)
        yield _gauge("reelbox_segment_cache_bytes", "Bytes of segments cached", c.bytes)
        yield _gauge("reelbox_segment_cache_max_bytes", "The segment cache's bound", c.max_bytes)
        yield _gauge(
            "reelbox_segment_cache_hit_ratio",
            "Segment cache hits over lookups since start",
            c.hit_rate,
        )

    def _scans(self) -> Iterator[Metric]:
        assert self._sources.scans is not None
        scans = sorted(self._sources.scans().items())
        phase = GaugeMetricFamily(
            "reelbox_scan_phase",
            "1 for the phase each library's scan is in",
            labels=("library", "phase"),
        )
        files = GaugeMetricFamily(
            "reelbox_scan_files", "Files of the latest scan, by state", labels=("library", "state")
        )
        progress = GaugeMetricFamily(
            "reelbox_scan_progress_ratio",
            "Probed over files to probe in the latest scan (1 when done)",
            labels=("library",),
        )
        elapsed = GaugeMetricFamily(
            "reelbox_scan_elapsed_seconds", "Duration of the latest scan", labels=("library",)
        )
        speed = GaugeMetricFamily(
            "reelbox_scan_files_per_second",
            "Files per second of the latest scan",
            labels=("library",),
        )
        for library_id, stats in scans:
            library = str(library_id)
            for name in SCAN_PHASES:
                phase.add_metric((library, name), float(stats.phase == name))
            for name in SCAN_FILES:
                files.add_metric((library, name), getattr(stats, name))
            if stats.to_probe:
                ratio = min(1.0, (stats.probed + stats.failed) / stats.to_probe)
            else:
                ratio = 0.0 if stats.phase in ("discover", "probe") else 1.0
            progress.add_metric((library,), ratio)
            elapsed.add_metric((library,), stats.elapsed)
            speed.add_metric((library,), stats.files_per_second)
        yield from (phase, files, progress, elapsed, speed)

    def _state(self) -> Iterator[Metric]:
        assert self._sources.state is not None
        st = self._sources.state()
        cache, bus, sessions, limiter = st.cache, st.bus, st.sessions, st.limiter
        yield _counter("reelbox_state_cache_hits", "Shared cache lookups that hit", cache.hits)
        yield _counter(
            "reelbox_state_cache_misses", "Shared cache lookups that missed", cache.misses
        )
        yield _counter("reelbox_state_cache_sets", "Shared cache entries set", cache.sets)
        yield _counter(
            "reelbox_state_cache_evictions",
            "Shared cache entries evicted (in process)",
            cache.evictions,
        )
        yield _counter(
            "reelbox_state_cache_invalidated",
            "Shared cache entries dropped by tag",
            cache.invalidated,
        )
        if cache.entries is not None:
            yield _gauge("reelbox_state_cache_entries", "Shared cache entries held", cache.entries)
        yield _gauge(
            "reelbox_state_cache_hit_ratio",
            "Shared cache hits over lookups since start",
            _ratio(cache.hits, cache.misses),
        )
        yield _counters(
            "reelbox_bus_events",
            "Bus events of this node, by stage",
            "stage",
            {
                "published": bus.published,
                "delivered": bus.delivered,
                "dropped": bus.dropped,
                "lost": bus.lost,
            },
        )
        yield _gauge("reelbox_bus_subscribers", "Bus subscribers on this node", bus.subscribers)
        yield _gauge(
            "reelbox_bus_connected", "1 when events of other nodes can arrive", float(bus.connected)
        )
        yield _counter(
            "reelbox_bus_reconnects", "Bus re-subscriptions after a loss", bus.reconnects
        )
        yield _counters(
            "reelbox_login_session_lookups",
            "Login session store lookups, by result",
            "result",
            {"found": sessions.found, "missing": sessions.missing},
        )
        if sessions.sessions is not None:
            yield _gauge("reelbox_login_sessions", "Login sessions held", sessions.sessions)
        yield _counters(
            "reelbox_rate_limit_checks",
            "Rate limit checks, by result",
            "result",
            {"allowed": limiter.allowed, "limited": limiter.limited},
        )
        yield _counters(
            "reelbox_state_failures",
            "Shared state calls that failed (Redis did not answer), by port",
            "port",
            {
                "cache": cache.failures,
                "bus": bus.failures,
                "sessions": sessions.failures,
                "limiter": limiter.failures,
            },
        )

    def _events(self) -> Iterator[Metric]:
        assert self._sources.events is not None
        e = self._sources.events()
        yield _gauge("reelbox_websocket_connections", "WebSockets open on this node", e.connections)
        yield _gauge("reelbox_websocket_devices", "Devices connected to this node", e.devices)
        yield _counter("reelbox_websocket_opened", "WebSockets opened", e.opened)
        yield _counters(
            "reelbox_websocket_closed",
            "WebSockets closed by the server, by reason",
            "reason",
            {
                "unauthorized": e.auth_failures,
                "forbidden": e.forbidden,
                "slow": e.slow_disconnects,
                "idle": e.idle_disconnects,
            },
        )
        yield _counter("reelbox_websocket_messages_sent", "Messages written to clients", e.sent)
        yield _counter(
            "reelbox_websocket_malformed", "Client messages answered with an error", e.malformed
        )
        yield _counter(
            "reelbox_websocket_events_filtered",
            "Library events a connection's user may not see",
            e.filtered,
        )
        yield _counters(
            "reelbox_remote_commands",
            "Remote control commands, by stage",
            "stage",
            {"sent": e.remote_commands, "delivered": e.remote_delivered},
        )
        yield _counter("reelbox_events_published", "Events this node published", e.published)
        yield _counter(
            "reelbox_events_publish_failures",
            "Events lost to an unavailable bus",
            e.publish_failures,
        )

    def _auth(self) -> Iterator[Metric]:
        assert self._sources.auth is not None
        a = self._sources.auth()
        yield _counters(
            "reelbox_auth_logins",
            "Login attempts, by result",
            "result",
            {"ok": a.logins, "failed": a.login_failures, "rate_limited": a.rate_limited},
        )
        yield _counter("reelbox_auth_refreshes", "Refresh token rotations", a.refreshes)
        yield _counter(
            "reelbox_auth_refresh_reuse",
            "Sessions revoked for refresh token reuse",
            a.reuse_detected,
        )
        yield _counter(
            "reelbox_auth_sessions_revoked", "Login sessions revoked", a.revoked_sessions
        )
