"""The metadata query cache, and ETags on JSON answers.

What is cached: the catalog's answer to a query (a grid page, a search, an item's detail, the
genre list), serialised, under a key made of what decides that answer: the query and the viewer's
*visibility* (library ids and parental limit), not the user. Two members who see the same
libraries share entries. The asking user's own data (played, favourite, resume position) is never
cached: it is read fresh and laid over the cached items on every request (one small query), so a
watched episode shows as watched at once. Queries that filter on user data (unwatched,
favourites) and the per-user home rows are not cached at all.

Invalidation: each entry is tagged ``library:<id>`` when its query names one library (an item's
detail names its own), else ``library:all``. ``library_changed(id)`` drops both that library's
tag and ``library:all``; the composition root calls it after every scan (scheduled or asked for)
and the library routes after creating, changing or deleting one. Entries also expire after
``ttl_s``, which bounds what a change no hook sees (the file watcher's small updates) to that.
The store is the ``Cache`` port: in-process on one node, Redis in a cluster (whose invalidation
every node sees). A store that does not answer is skipped, never an error.

ETags: a JSON answer's ETag is a hash of its bytes (strong: equal bytes, equal tag), sent with
``Cache-Control: private, no-cache``; a GET whose ``If-None-Match`` holds it (weak comparison,
as RFC 9110 says) gets 304.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from pydantic import BaseModel
from quart import Response, request

from ingest.catalog.browse import Viewer
from ingest.state.ports import Cache, StateUnavailable

log = structlog.get_logger(__name__)

ALL = "library:all"
PRIVATE = "private, no-cache"
# What a cached query makes: the answer's bytes and the tags that invalidate it.
Make = Callable[[], Awaitable[tuple[bytes, tuple[str, ...]]]]


def library_tag(library_id: int | None) -> str:
    return ALL if library_id is None else f"library:{library_id}"


def visibility(viewer: Viewer) -> list[object]:
    """What decides which items a viewer sees (the user id does not)."""
    libraries = None if viewer.library_ids is None else sorted(viewer.library_ids)
    return [libraries, viewer.max_parental_rating]


@dataclass(frozen=True, slots=True)
class MetadataCacheStatistics:
    hits: int
    misses: int
    invalidations: int
    failures: int  # calls the store did not answer (the query ran uncached)


class MetadataCache:
    """Cached query answers over the ``Cache`` port; ``store`` None turns caching off."""

    def __init__(
        self, store: Cache | None, *, ttl_s: float = 60.0, prefix: str = "api:v1:"
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._hits = self._misses = self._invalidations = self._failures = 0

    def key(self, kind: str, viewer: Viewer, *parts: object) -> str:
        raw = json.dumps([kind, visibility(viewer), *parts], default=str, separators=(",", ":"))
        return self.prefix + kind + ":" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    async def fetch(
        self, key: str, make: Make, *, ttl_s: float | None = None
    ) -> tuple[bytes, bool]:
        """The answer cached under ``key``, else ``make()``'s, stored with the tags it names
        (for ``ttl_s``, by default the cache's); and whether it was made by this call."""
        if self.store is None:
            return (await make())[0], True
        try:
            found = await self.store.get(key)
        except StateUnavailable as exc:
            self._failed("get", exc)
            return (await make())[0], True
        if found is not None:
            self._hits += 1
            return found, False
        self._misses += 1
        value, tags = await make()
        try:
            await self.store.set(key, value, ttl_s=ttl_s or self.ttl_s, tags=tags)
        except StateUnavailable as exc:
            self._failed("set", exc)
        return value, True

    async def library_changed(self, library_id: int | None = None) -> None:
        """Drop what a change of ``library_id`` (None: of any library) may have made stale."""
        if self.store is None:
            return
        self._invalidations += 1
        tags = [ALL] if library_id is None else [library_tag(library_id), ALL]
        try:
            for tag in tags:
                await self.store.invalidate(tag)
        except StateUnavailable as exc:
            self._failed("invalidate", exc)

    def statistics(self) -> MetadataCacheStatistics:
        return MetadataCacheStatistics(
            self._hits, self._misses, self._invalidations, self._failures
        )

    def _failed(self, what: str, exc: Exception) -> None:
        self._failures += 1
        log.warning("api.cache_unavailable", operation=what, error=str(exc))


# --- ETags --------------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def conditional(
    body: bytes,
    *,
    content_type: str = "application/json",
    cache_control: str = PRIVATE,
) -> Response:
    """``body`` with a strong ETag, or an empty 304 when the client holds that version."""
    tag = etag_of(body)
    headers = {"ETag": f'"{tag}"', "Cache-Control": cache_control, "Vary": "Authorization"}
    if request.method in ("GET", "HEAD") and request.if_none_match.contains_weak(tag):
        return Response(b"", status=304, headers=headers)
    return Response(body, status=200, content_type=content_type, headers=headers)


def json_answer(model: BaseModel) -> Response:
    """A model as JSON with an ETag (304 when unchanged)."""
    return conditional(model.model_dump_json().encode())


def json_response(model: BaseModel, status: int = 200) -> Response:
    """A model as JSON, without an ETag: the answer to a change."""
    return Response(model.model_dump_json(), status=status, content_type="application/json")
