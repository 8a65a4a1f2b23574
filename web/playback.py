"""Playback sessions: an item and a device profile in, a session whose segments any request can
fetch out.

Creating a session reads what the catalog knows (streams, keyframe index), decides how the device
plays the file (``engine.sessions.decision``), plans renditions and segment boundaries, measures
each served stream's start delay once (for the shared presentation offset), and starts the
session actor under the supervisor. Segments are then served statelessly through the segment
workers; the session only hears about them, to prefetch.

A signed-in user's other devices hear of their sessions (``on_session``, the WebSocket's
``session`` events): ``started`` {session_id, item_id, method}, ``progress`` {session_id, item_id,
position_us, paused} and ``ended`` {session_id, item_id}. They are told from one task, in order,
best effort: a notice that finds the queue full is dropped and counted, never waited for.
"""

from __future__ import annotations

import io
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from functools import partial
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.actors import Child, Supervisor
from engine.errors import CorruptSource, EncodeFailed, NotFound
from engine.media import StreamInfo
from engine.segmenter.keyframes import KeyframeIndex
from engine.segmenter.remux import Source
from engine.segmenter.workers import SegmentWorkers
from engine.sessions.actor import SessionContext, session_actor
from engine.sessions.decision import Decision, decide
from engine.sessions.plan import PlaybackPlan
from engine.sessions.planning import plan_playback
from engine.sessions.profiles import DeviceProfile, Limits
from engine.sessions.session import (
    CloseRequested,
    Heartbeat,
    Message,
    ProgressReported,
    SegmentRequested,
    SessionConfig,
)
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.browse import Viewer, is_visible
from ingest.catalog.database import Database
from ingest.catalog.userdata import UserData, get_user_data, record_progress
from ingest.errors import SourceError, Unreadable
from ingest.opener import SourcePool
from ingest.sources import LocalSource, S3Source
from ingest.state.ports import JSONValue
from web import downloads

log = structlog.get_logger(__name__)

PLAN_CACHE = 256  # plans kept, by (item, media version): a few kB each
NOTICES = 256  # session notices waiting to be told; more are dropped

Notice = tuple[int, str, dict[str, JSONValue]]  # user id, kind, data
SessionNotice = Callable[[int, str, dict[str, JSONValue]], Awaitable[object]]

CONTENT_TYPES = {"cmaf": "video/mp4", "mpegts": "video/mp2t"}


@dataclass(frozen=True, slots=True)
class PlaybackSession:
    id: str
    item_id: int
    user_id: int | None
    decision: Decision
    context: SessionContext
    child: Child[Message]
    local_path: str | None  # the media file, for direct play ...
    presign: Callable[[], Awaitable[str]] | None  # ... or a URL to redirect to (S3)

    @property
    def plan(self) -> PlaybackPlan:
        return self.context.plan


@dataclass(frozen=True, slots=True)
class PlaybackStatistics:
    sessions: int  # live playback sessions on this node
    users: int  # distinct signed-in users among them
    notices_dropped: int = 0  # session notices dropped because too many waited


@dataclass(frozen=True, slots=True)
class _Media:
    open: Callable[[], Source]  # in a worker thread; a reader is closed by whoever opened it
    local_path: str | None
    presign: Callable[[], Awaitable[str]] | None
    streams: list[StreamInfo]
    keyframes: KeyframeIndex
    container: str | None
    bit_rate: int | None
    duration_us: int | None
    version: str
    title: str


@dataclass(frozen=True, slots=True)
class Download:
    plan: PlaybackPlan
    quality: downloads.Quality
    duration_us: int | None
    title: str
    segments: downloads.Segments


class _Fragments:
    def __init__(self, context: SessionContext) -> None:
        self._context = context

    async def fragment(self, rendition_id: str, part: int | None) -> bytes:
        context = self._context
        job = context.plan.job(rendition_id, part)
        return await context.workers.get(
            context.plan.key(job),
            context.producer(job),
            heavy=not job.rendition.is_remux,
            owner=context.owner,
        )


async def _no_progress(position_us: int, final: bool) -> None:
    """A download has no playback position to keep."""


class Playback:
    def __init__(
        self,
        database: Database,
        workers: SegmentWorkers,
        *,
        sources: SourcePool | None = None,
        on_progress: Callable[[UserData], Awaitable[object]] | None = None,
        on_session: SessionNotice | None = None,
        config: SessionConfig | None = None,
        segment_seconds: Fraction = Fraction(6),
        first_segment_seconds: Fraction = Fraction(2),
    ) -> None:
        self._db = database
        self._workers = workers
        self._sources = sources
        self._on_progress = on_progress  # told what a progress report stored (the WebSocket)
        self._on_session = on_session
        self._notices: MemoryObjectSendStream[Notice] | None = None  # while running
        self._notices_dropped = 0
        self._config = config or SessionConfig()
        self._target = segment_seconds
        self._first = first_segment_seconds
        self._supervisor = Supervisor(escalate=False, name="sessions")
        self._sessions: dict[str, PlaybackSession] = {}
        # A plan is a pure function of the media version (and this server's segment targets):
        # measuring stream delays opens the file several times, so a replay or a second viewer
        # of the same version reuses it. A changed file has a new version, hence a new plan.
        self._plans: OrderedDict[tuple[int, str], PlaybackPlan] = OrderedDict()
        self._running = False

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        notices, told = anyio.create_memory_object_stream[Notice](NOTICES)
        with notices, told:
            async with anyio.create_task_group() as tg:
                await tg.start(self._supervisor.run)
                tg.start_soon(self._announce, told)
                self._notices, self._running = notices, True
                task_status.started()
                try:
                    await anyio.sleep_forever()
                finally:
                    self._notices, self._running = None, False

    def statistics(self) -> PlaybackStatistics:
        sessions = list(self._sessions.values())
        return PlaybackStatistics(
            sessions=len(sessions),
            users=len({s.user_id for s in sessions if s.user_id is not None}),
            notices_dropped=self._notices_dropped,
        )

    def _notify(self, session: PlaybackSession, kind: str, **data: JSONValue) -> None:
        if session.user_id is None or self._on_session is None or self._notices is None:
            return
        notice = {"session_id": session.id, "item_id": session.item_id, **data}
        try:
            self._notices.send_nowait((session.user_id, kind, notice))
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._notices_dropped += 1

    async def _announce(self, notices: MemoryObjectReceiveStream[Notice]) -> None:
        async for user_id, kind, data in notices:
            if self._on_session is not None:
                await self._on_session(user_id, kind, data)

    def exists(self, session_id: str) -> bool:
        return session_id in self._sessions

    def session(self, session_id: str) -> PlaybackSession:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise NotFound(f"no playback session {session_id!r} (it may have ended)") from None

    async def create(
        self,
        item_id: int,
        profile: DeviceProfile,
        *,
        audio_stream: int | None = None,
        limits: Limits | None = None,
        user_id: int | None = None,
        viewer: Viewer | None = None,
    ) -> PlaybackSession:
        """A session for ``user_id`` (None: anonymous, whose progress is not kept). With a
        ``viewer``, an item that viewer may not see is NotFound, as it is when browsing."""
        if not self._running:
            raise RuntimeError("Playback.run is not running")
        media = await self._media(item_id, viewer)
        decision = decide(
            media.container,
            media.streams,
            media.bit_rate,
            profile,
            audio_stream=audio_stream,
            limits=limits,
        )
        plan = await self._planned(item_id, media)
        session_id = uuid.uuid4().hex
        written = [datetime.now(UTC)]  # when this session started, then last stored progress

        async def save_progress(position_us: int, final: bool) -> None:
            log.debug(
                "playback.progress",
                session=session_id,
                item_id=item_id,
                position_us=position_us,
                final=final,
            )
            if user_id is None:
                return
            async with self._db.begin() as conn:
                if final:
                    # A session closing (or timing out) repeats its last report: when another
                    # session of the user (or the user, by hand) has stored progress since,
                    # theirs is newer.
                    now_kept = await get_user_data(conn, user_id, item_id)
                    kept_at = now_kept.last_played_at if now_kept else None
                    if kept_at is not None and kept_at > written[0]:
                        log.info("playback.final_progress_superseded", session=session_id)
                        return
                stored = await record_progress(
                    conn,
                    user_id,
                    item_id,
                    position_us,
                    duration_us=media.duration_us,
                    final=final,
                )
            written[0] = stored.last_played_at or written[0]
            if self._on_progress is not None:
                await self._on_progress(stored)

        owner = None if user_id is None else f"user {user_id}"
        context = SessionContext(plan, media.open, self._workers, save_progress, owner=owner)
        child = await self._supervisor.start_child(
            f"session {session_id}",
            session_actor(context, self._config),
            on_exit=lambda _child: self._forget(session_id),
        )
        session = PlaybackSession(
            session_id, item_id, user_id, decision, context, child, media.local_path, media.presign
        )
        self._sessions[session_id] = session
        self._notify(session, "started", method=decision.method.value)
        log.info(
            "playback.started",
            session=session_id,
            item_id=item_id,
            method=decision.method.value,
            reasons=[r.value for r in decision.reasons],
        )
        return session

    async def segment(
        self, session_id: str, rendition_id: str, part: int | None, container: str = "cmaf"
    ) -> bytes:
        """An init (``part=None``) or media segment; the session hears of it, to prefetch."""
        session = self.session(session_id)
        job = session.plan.job(rendition_id, part, container)
        # The player is there while it waits: a slow segment must not let the session idle out.
        session.child.mailbox.tell(Heartbeat())
        data = await self._workers.get(
            session.plan.key(job),
            session.context.producer(job),
            # WebVTT is a light read, like a remux: it never waits behind encodes.
            heavy=not job.rendition.is_remux and job.container != "webvtt",
            owner=session.context.owner,
        )
        if part is not None:
            session.child.mailbox.tell(SegmentRequested(rendition_id, part))
        return data

    def _forget(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self._notify(session, "ended")

    def progress(self, session_id: str, position_us: int, *, paused: bool = False) -> None:
        session = self.session(session_id)
        session.child.mailbox.tell(ProgressReported(position_us, paused))
        self._notify(session, "progress", position_us=position_us, paused=paused)

    async def close(self, session_id: str) -> None:
        session = self.session(session_id)
        session.child.mailbox.tell(CloseRequested())
        await session.child.wait()

    async def download(
        self, item_id: int, quality: str, *, viewer: Viewer | None, user_id: int | None
    ) -> Download:
        """What downloading ``item_id`` at ``quality`` needs: the plan, the quality chosen
        (NotFound when not offered), and fragments made by the segment workers as a player's
        are (the cache, the per-user encode cap)."""
        media = await self._media(item_id, viewer)
        plan = await self._planned(item_id, media)
        chosen = downloads.choose(plan, quality)
        owner = None if user_id is None else f"user {user_id}"
        context = SessionContext(plan, media.open, self._workers, _no_progress, owner=owner)
        return Download(plan, chosen, media.duration_us, media.title, _Fragments(context))

    async def download_qualities(
        self, item_id: int, *, viewer: Viewer | None
    ) -> tuple[list[downloads.Quality], int | None]:
        media = await self._media(item_id, viewer)
        return downloads.qualities(await self._planned(item_id, media)), media.duration_us

    async def _planned(self, item_id: int, media: _Media) -> PlaybackPlan:
        plan = self._plans.get((item_id, media.version))
        if plan is None:
            plan = await anyio.to_thread.run_sync(partial(self._plan, media))
            self._plans[item_id, media.version] = plan
            while len(self._plans) > PLAN_CACHE:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end((item_id, media.version))
        return plan

    async def _media(self, item_id: int, viewer: Viewer | None) -> _Media:
        async with self._db.connect() as conn:
            item = await item_queries.get_item(conn, item_id)
            if item is None or item.status != "ok":
                raise NotFound(f"no playable item {item_id}")
            if viewer is not None and not await is_visible(conn, viewer, item_id):
                raise NotFound(f"no playable item {item_id}")
            streams = await item_queries.get_streams(conn, item_id)
            keyframes = await item_queries.get_keyframes(conn, item_id)
            sources = await library_queries.list_sources(conn, item.library_id)
        record = next((s for s in sources if s.id == item.source_id), None)
        if record is None:
            raise NotFound(f"item {item_id} belongs to no source")
        if keyframes is None:
            raise CorruptSource(f"item {item_id} has no keyframe index to cut segments on")
        facts = partial(
            _Media,
            streams=streams,
            keyframes=keyframes[1],
            container=item.container,
            bit_rate=item.bit_rate,
            duration_us=item.duration_us,
            version=item.version,
            title=item.title if item.year is None else f"{item.title} ({item.year})",
        )
        if record.kind == "local" and record.path is not None:
            path = str(LocalSource(record.id, Path(record.path)).local_path(item.key))
            return facts(open=lambda: path, local_path=path, presign=None)
        if self._sources is None:
            raise NotFound(f"item {item_id} is on S3, and this server has no S3 access")
        try:
            source = await self._sources.get(record)
        except SourceError as exc:
            raise NotFound(f"item {item_id}: {exc}") from exc
        if not isinstance(source, S3Source):
            raise NotFound(f"item {item_id} is in a source Reelbox cannot stream from")
        key, size = item.key, item.size
        return facts(
            open=partial(_open_object, source, key, size),
            local_path=None,
            presign=partial(source.presigned_url, key),
        )

    def _plan(self, media: _Media) -> PlaybackPlan:
        """Renditions, boundaries and stream clocks (reads the file: a worker thread)."""
        source = media.open()
        try:
            return plan_playback(
                source,
                media.streams,
                media.keyframes,
                version=media.version,
                bit_rate=media.bit_rate,
                target=self._target,
                first_target=self._first,
            )
        finally:
            if isinstance(source, io.IOBase):
                source.close()


def _open_object(source: S3Source, key: str, size: int) -> Source:
    """A reader over an S3 object (a worker thread). An object that cannot be reached fails the
    one request that needed it, as a retryable ``EncodeFailed`` (S3 errors are mostly brief)."""
    try:
        return source.open(key, size)
    except Unreadable as exc:
        raise EncodeFailed(f"cannot read the media: {exc}") from exc
