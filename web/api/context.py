"""What the REST resources share: their dependencies (``Api``), the viewer a request is, and the
API's errors.

The resources' errors, mapped once in ``web.errors`` (``{"error": {"code", "message",
"details"}}``)::

    ApiError
    ├── Missing        404 not_found: absent, or hidden from the asking user (the same answer)
    ├── Refused        403 forbidden: visible, but not the asking user's to change
    ├── Clash          409 conflict: a name is taken; a change would lock the admins out
    └── Invalid        400 invalid_request: a value the models cannot judge (a folder that is
                       not there, unknown S3 credentials), named in ``details.field``

Request validation (quart-schema) is 400 ``invalid_request`` too, naming every field it refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ingest.catalog.browse import Viewer
from ingest.catalog.database import Database
from ingest.imagestore import ImageStore
from web.api.cache import MetadataCache
from web.api.scans import ScanQueue
from web.auth.principal import Principal, current_principal
from web.auth.service import Auth


class ApiError(Exception):
    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = details


class Missing(ApiError):
    pass


class Refused(ApiError):
    pass


class Clash(ApiError):
    pass


class Invalid(ApiError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


async def _nothing() -> None:
    return None


async def _unheard(user_id: int, item_id: int, data: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Api:
    """What the REST resources need, built by the composition root."""

    database: Database
    auth: Auth
    images: ImageStore
    cache: MetadataCache
    scans: ScanQueue
    # Names of the S3 credentials in the settings a library source may name.
    s3_credentials: frozenset[str] = frozenset()
    # Called after a library or its sources changed (the file watcher re-reads its folders).
    libraries_changed: Callable[[], Awaitable[None]] = field(default=_nothing)
    # Told (user, item, the new user data as JSON) after a user's data changed: the user's other
    # devices hear of it over the WebSocket.
    user_data_changed: Callable[[int, int, Mapping[str, Any]], Awaitable[object]] = field(
        default=_unheard
    )


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(principal.user_id, principal.library_ids, principal.max_parental_rating)


def current_viewer() -> Viewer:
    return viewer_of(current_principal())
