"""Playlists: ordered lists of items, shared with other users to view or to edit.

    GET    /api/playlists                          yours and those shared with you
    POST   /api/playlists                          {name, is_public?}
    GET    /api/playlists/<id>                     with the entries you may see, in order
    PATCH  /api/playlists/<id>                     {name} (owner)
    DELETE /api/playlists/<id>                     (owner)
    POST   /api/playlists/<id>/items               {item_ids} appended (owner, editors)
    PATCH  /api/playlists/<id>/items/<entry_id>    {index}: move the entry (owner, editors)
    DELETE /api/playlists/<id>/items/<entry_id>    (owner, editors)
    PUT    /api/playlists/<id>/shares/<user_id>    {can_edit?} (owner)
    DELETE /api/playlists/<id>/shares/<user_id>    (owner)

The rules are ``ingest.catalog.playlists``': a playlist hidden from the user is 404 (its
``PlaylistNotFound``), one they see but may not change that way 403 (``PlaylistDenied``). Users
see only the entries whose items they may see, and add only such items (others: 404).
"""

from __future__ import annotations

from typing import Literal

from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from ingest.catalog import playlists as queries
from ingest.catalog import users as user_queries
from ingest.catalog.playlists import Access
from web.api.cache import json_answer, json_response
from web.api.context import Api, Missing, current_viewer
from web.api.openapi import etagged, no_content
from web.api.records import item_out
from web.api.schemas import (
    EntriesAdded,
    Playlist,
    PlaylistCreate,
    PlaylistDetail,
    PlaylistEntry,
    PlaylistItemsAdd,
    PlaylistList,
    PlaylistMove,
    PlaylistRename,
    Share,
    ShareBody,
)
from web.auth.principal import require_login

ACCESS: dict[Access, Literal["view", "edit", "own"]] = {
    Access.VIEW: "view",
    Access.EDIT: "edit",
    Access.OWN: "own",
}


def playlist_out(p: queries.Playlist) -> Playlist:
    return Playlist(
        id=p.id,
        owner_id=p.owner_id,
        name=p.name,
        is_public=p.is_public,
        access=ACCESS[p.access],
        item_count=p.item_count,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def detail_out(d: queries.PlaylistDetail) -> PlaylistDetail:
    return PlaylistDetail(
        playlist=playlist_out(d.playlist),
        entries=[
            PlaylistEntry(id=e.id, position=e.position, item=item_out(e.item)) for e in d.entries
        ],
        shares=[
            Share(user_id=s.user_id, username=s.username, can_edit=s.can_edit) for s in d.shares
        ],
    )


def playlist_routes(api: Api) -> Blueprint:
    routes = Blueprint("playlists", __name__)

    @routes.get("/api/playlists")
    @require_login
    @document_response(PlaylistList)
    @etagged
    async def list_playlists() -> Response:
        """Your playlists and those shared with you, by name."""
        async with api.database.connect() as conn:
            found = await queries.list_playlists(conn, current_viewer())
        return json_answer(PlaylistList(playlists=[playlist_out(p) for p in found]))

    @routes.post("/api/playlists")
    @require_login
    @validate_request(PlaylistCreate)
    @document_response(Playlist, 201)
    async def create_playlist(data: PlaylistCreate) -> Response:
        """Create a playlist (public: every user may see it)."""
        async with api.database.begin() as conn:
            made = await queries.create_playlist(
                conn, current_viewer().user_id, data.name, is_public=data.is_public
            )
        return json_response(playlist_out(made), 201)

    @routes.get("/api/playlists/<id:playlist_id>")
    @require_login
    @document_response(PlaylistDetail)
    @etagged
    async def get_playlist(playlist_id: int) -> Response:
        """A playlist with the entries you may see, in order."""
        async with api.database.connect() as conn:
            found = await queries.get_playlist(conn, current_viewer(), playlist_id)
        if found is None:
            raise Missing(f"no playlist {playlist_id}")
        return json_answer(detail_out(found))

    @routes.patch("/api/playlists/<id:playlist_id>")
    @require_login
    @validate_request(PlaylistRename)
    @document_response(Playlist)
    async def rename_playlist(playlist_id: int, data: PlaylistRename) -> Response:
        """Rename a playlist (its owner)."""
        viewer = current_viewer()
        async with api.database.begin() as conn:
            await queries.rename_playlist(conn, viewer.user_id, playlist_id, data.name)
            found = await queries.get_playlist(conn, viewer, playlist_id)
        if found is None:
            raise Missing(f"no playlist {playlist_id}")
        return json_response(playlist_out(found.playlist))

    @routes.delete("/api/playlists/<id:playlist_id>")
    @require_login
    @no_content()
    async def delete_playlist(playlist_id: int) -> Response:
        """Delete a playlist (its owner)."""
        async with api.database.begin() as conn:
            await queries.delete_playlist(conn, current_viewer().user_id, playlist_id)
        return Response(status=204)

    @routes.post("/api/playlists/<id:playlist_id>/items")
    @require_login
    @validate_request(PlaylistItemsAdd)
    @document_response(EntriesAdded, 201)
    async def add_items(playlist_id: int, data: PlaylistItemsAdd) -> Response:
        """Append items, in the order given (the owner and editors)."""
        async with api.database.begin() as conn:
            added = await queries.add_items(conn, current_viewer(), playlist_id, data.item_ids)
        return json_response(EntriesAdded(entry_ids=added), 201)

    @routes.patch("/api/playlists/<id:playlist_id>/items/<id:entry_id>")
    @require_login
    @validate_request(PlaylistMove)
    @no_content()
    async def move_entry(playlist_id: int, entry_id: int, data: PlaylistMove) -> Response:
        """Move an entry to another place in the order (the owner and editors)."""
        async with api.database.begin() as conn:
            await queries.move_entry(
                conn, current_viewer().user_id, playlist_id, entry_id, data.index
            )
        return Response(status=204)

    @routes.delete("/api/playlists/<id:playlist_id>/items/<id:entry_id>")
    @require_login
    @no_content()
    async def remove_entry(playlist_id: int, entry_id: int) -> Response:
        """Remove an entry (the owner and editors)."""
        async with api.database.begin() as conn:
            removed = await queries.remove_entries(
                conn, current_viewer().user_id, playlist_id, [entry_id]
            )
        if not removed:
            raise Missing(f"no entry {entry_id} in playlist {playlist_id}")
        return Response(status=204)

    @routes.put("/api/playlists/<id:playlist_id>/shares/<id:user_id>")
    @require_login
    @validate_request(ShareBody)
    @no_content()
    async def share(playlist_id: int, user_id: int, data: ShareBody) -> Response:
        """Share a playlist with a user, to view or to edit (its owner)."""
        async with api.database.begin() as conn:
            if await user_queries.get_user(conn, user_id) is None:
                raise Missing(f"no user {user_id}")
            await queries.share_playlist(
                conn, current_viewer().user_id, playlist_id, user_id, can_edit=data.can_edit
            )
        return Response(status=204)

    @routes.delete("/api/playlists/<id:playlist_id>/shares/<id:user_id>")
    @require_login
    @no_content()
    async def unshare(playlist_id: int, user_id: int) -> Response:
        """Stop sharing a playlist with a user (its owner)."""
        async with api.database.begin() as conn:
            if not await queries.unshare_playlist(
                conn, current_viewer().user_id, playlist_id, user_id
            ):
                raise Missing(f"playlist {playlist_id} is not shared with user {user_id}")
        return Response(status=204)

    return routes
