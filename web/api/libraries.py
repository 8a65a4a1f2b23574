"""Libraries: everyone lists those they may see; admins create and delete them, add sources, and
ask for scans, whose progress anyone who sees the library may watch.

    GET    /api/libraries               the libraries you may see (sources: admins only)
    GET    /api/libraries/<id>
    POST   /api/libraries               (admin) {name, kind, sources: [{type: local, path} |
                                        {type: s3, bucket, prefix?, credentials?}], scan?}
    PATCH  /api/libraries/<id>          (admin) {name?}
    DELETE /api/libraries/<id>          (admin) the library and its items
    POST   /api/libraries/<id>/sources  (admin) {source, scan?}
    DELETE /api/libraries/<id>/sources/<source_id>  (admin) the source and its items
    POST   /api/libraries/<id>/scan     (admin) 202: queued; the scan status
    GET    /api/libraries/<id>/scan     the scan's progress (phase, counts, files/s)

A library the user may not see is 404 on every route, admin-only ones included; one they see but
may not change is 403. A local source must be a folder on the server; S3 credentials are named
in the server's settings (``s3_credentials``), never sent through the API. Every change drops
the metadata cache and lets the file watcher re-read its folders.
"""

from __future__ import annotations

from typing import Any

import anyio
from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from ingest.catalog import libraries as library_queries
from ingest.catalog.records import Library as LibraryRecord
from ingest.models import LibraryKind
from web.api.cache import json_answer, json_response
from web.api.context import Api, Clash, Invalid, Missing, Refused
from web.api.openapi import errors, etagged, no_content
from web.api.records import library_out, source_out
from web.api.schemas import (
    Library,
    LibraryCreate,
    LibraryList,
    LibraryUpdate,
    LocalSourceBody,
    S3SourceBody,
    ScanStatus,
    Source,
    SourceAdd,
)
from web.auth.principal import current_principal, require_admin, require_login


def library_routes(api: Api) -> Blueprint:
    routes = Blueprint("libraries", __name__)

    async def visible(conn: Any, library_id: int) -> LibraryRecord:
        library = await library_queries.get_library(conn, library_id)
        if library is None or not current_principal().can_see_library(library_id):
            raise Missing(f"no library {library_id}")
        return library

    async def to_change(conn: Any, library_id: int) -> LibraryRecord:
        library = await visible(conn, library_id)
        if not current_principal().is_admin:
            raise Refused("only admins change libraries")
        return library

    async def checked(source: LocalSourceBody | S3SourceBody, field: str) -> None:
        """A source the server can use: an existing folder, or configured credentials."""
        if isinstance(source, LocalSourceBody):
            path = anyio.Path(source.path)
            if not path.is_absolute() or not await path.is_dir():
                raise Invalid(
                    f"{source.path!r} is not a folder on the server", field=f"{field}.path"
                )
        elif source.credentials is not None and source.credentials not in api.s3_credentials:
            raise Invalid(
                f"no S3 credentials named {source.credentials!r} in the server's settings",
                field=f"{field}.credentials",
            )

    async def add_source(conn: Any, library_id: int, source: LocalSourceBody | S3SourceBody) -> Any:
        if isinstance(source, LocalSourceBody):
            resolved = await anyio.Path(source.path).resolve()
            return await library_queries.add_local_source(conn, library_id, str(resolved))
        return await library_queries.add_s3_source(
            conn, library_id, source.bucket, source.prefix, source.credentials
        )

    async def changed(library_id: int | None) -> None:
        await api.cache.library_changed(library_id)
        await api.libraries_changed()

    def status(library: LibraryRecord) -> ScanStatus:
        stats = api.scans.statistics(library.id)
        counts: dict[str, Any] = {} if stats is None else stats.as_dict()
        return ScanStatus(
            library_id=library.id,
            state=api.scans.state(library.id),
            phase=counts.get("phase", "idle"),
            discovered=counts.get("discovered", 0),
            unchanged=counts.get("unchanged", 0),
            to_probe=counts.get("to_probe", 0),
            probed=counts.get("probed", 0),
            failed=counts.get("failed", 0),
            added=counts.get("added", 0),
            updated=counts.get("updated", 0),
            moved=counts.get("moved", 0),
            removed=counts.get("removed", 0),
            source_errors=counts.get("source_errors", []),
            elapsed_s=counts.get("elapsed_s", 0.0),
            files_per_s=counts.get("files_per_s", 0.0),
            last_scan_at=library.last_scan_at,
        )

    @routes.get("/api/libraries")
    @require_login
    @document_response(LibraryList)
    @etagged
    async def list_libraries() -> Response:
        """The libraries you may see (admins also see their sources)."""
        principal = current_principal()
        async with api.database.connect() as conn:
            found = [
                library_out(
                    lib,
                    await library_queries.list_sources(conn, lib.id)
                    if principal.is_admin
                    else None,
                )
                for lib in await library_queries.list_libraries(conn)
                if principal.can_see_library(lib.id)
            ]
        return json_answer(LibraryList(libraries=found))

    @routes.get("/api/libraries/<id:library_id>")
    @require_login
    @document_response(Library)
    @etagged
    async def get_library(library_id: int) -> Response:
        """One library."""
        principal = current_principal()
        async with api.database.connect() as conn:
            library = await visible(conn, library_id)
            sources = (
                await library_queries.list_sources(conn, library_id) if principal.is_admin else None
            )
        return json_answer(library_out(library, sources))

    @routes.post("/api/libraries")
    @require_admin
    @validate_request(LibraryCreate)
    @document_response(Library, 201)
    @errors(409)
    async def create_library(data: LibraryCreate) -> Response:
        """Create a library from local folders or S3 prefixes (admins); scans it unless asked not
        to."""
        for i, source in enumerate(data.sources):
            await checked(source, f"sources.{i}")
        async with api.database.begin() as conn:
            if await library_queries.get_library_by_name(conn, data.name) is not None:
                raise Clash(f"a library named {data.name!r} exists already", field="name")
            library = await library_queries.create_library(conn, data.name, LibraryKind(data.kind))
            sources = [await add_source(conn, library.id, s) for s in data.sources]
        await changed(None)
        if data.scan:
            api.scans.request(library.id)
        return json_response(library_out(library, sources), 201)

    @routes.patch("/api/libraries/<id:library_id>")
    @require_login
    @validate_request(LibraryUpdate)
    @document_response(Library)
    @errors(409)
    async def update_library(library_id: int, data: LibraryUpdate) -> Response:
        """Rename a library (admins)."""
        async with api.database.begin() as conn:
            library = await to_change(conn, library_id)
            if data.name is not None and data.name != library.name:
                if await library_queries.get_library_by_name(conn, data.name) is not None:
                    raise Clash(f"a library named {data.name!r} exists already", field="name")
                renamed = await library_queries.rename_library(conn, library_id, data.name)
                library = renamed or library
            sources = await library_queries.list_sources(conn, library_id)
        await changed(library_id)
        return json_response(library_out(library, sources))

    @routes.delete("/api/libraries/<id:library_id>")
    @require_login
    @no_content()
    async def delete_library(library_id: int) -> Response:
        """Delete a library and its items (admins)."""
        async with api.database.begin() as conn:
            await to_change(conn, library_id)
            await library_queries.delete_library(conn, library_id)
        await changed(library_id)
        return Response(status=204)

    @routes.post("/api/libraries/<id:library_id>/sources")
    @require_login
    @validate_request(SourceAdd)
    @document_response(Source, 201)
    async def add_library_source(library_id: int, data: SourceAdd) -> Response:
        """Add a folder or an S3 prefix to a library (admins); scans it unless asked not to."""
        async with api.database.connect() as conn:
            await to_change(conn, library_id)
        await checked(data.source, "source")
        async with api.database.begin() as conn:
            record = await add_source(conn, library_id, data.source)
        await changed(library_id)
        if data.scan:
            api.scans.request(library_id)
        return json_response(source_out(record), 201)

    @routes.delete("/api/libraries/<id:library_id>/sources/<id:source_id>")
    @require_login
    @no_content()
    async def remove_library_source(library_id: int, source_id: int) -> Response:
        """Remove a folder or S3 prefix from a library, and its items (admins)."""
        async with api.database.begin() as conn:
            await to_change(conn, library_id)
            if not await library_queries.remove_source(conn, library_id, source_id):
                raise Missing(f"library {library_id} has no source {source_id}")
        await changed(library_id)
        return Response(status=204)

    @routes.post("/api/libraries/<id:library_id>/scan")
    @require_login
    @document_response(ScanStatus, 202)
    @errors(429)
    async def scan_library(library_id: int) -> Response:
        """Scan a library now (admins): 202 with its status; follow it with GET."""
        async with api.database.connect() as conn:
            library = await to_change(conn, library_id)
        api.scans.request(library_id)
        return json_response(status(library), 202)

    @routes.get("/api/libraries/<id:library_id>/scan")
    @require_login
    @document_response(ScanStatus)
    async def scan_status(library_id: int) -> Response:
        """A library's scan: queued, running (with progress) or the last one's counts."""
        async with api.database.connect() as conn:
            library = await visible(conn, library_id)
        return json_response(status(library))

    return routes
