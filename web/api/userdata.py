"""The asking user's own data about an item: played, favourite, resume position.

    GET    /api/items/<id>/userdata
    POST   /api/items/<id>/played      mark played (one more play when it was not)
    DELETE /api/items/<id>/played      mark unplayed (clears the resume point)
    POST   /api/items/<id>/favorite;  DELETE /api/items/<id>/favorite
    PUT    /api/items/<id>/progress    {position_us}: a resume point (the 5 % / 90 % rules apply)

Each answers the user data as it is afterwards. An item the user may not see is 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from ingest.catalog import browse, userdata
from ingest.catalog.items import get_item
from ingest.catalog.userdata import UserData
from web.api.cache import json_answer, json_response
from web.api.context import Api, Missing, current_viewer
from web.api.openapi import etagged
from web.api.records import user_state
from web.api.schemas import ProgressBody, UserState
from web.auth.principal import require_login

Change = Callable[[Any, int, int], Awaitable[UserData]]


def userdata_routes(api: Api) -> Blueprint:
    routes = Blueprint("userdata", __name__)

    async def change(item_id: int, write: Change) -> Response:
        viewer = current_viewer()
        async with api.database.begin() as conn:
            if not await browse.is_visible(conn, viewer, item_id):
                raise Missing(f"no item {item_id}")
            state = user_state(await write(conn, viewer.user_id, item_id))
        await api.user_data_changed(viewer.user_id, item_id, state.model_dump(mode="json"))
        return json_response(state)

    @routes.get("/api/items/<id:item_id>/userdata")
    @require_login
    @document_response(UserState)
    @etagged
    async def get_userdata(item_id: int) -> Response:
        """Your data about an item."""
        viewer = current_viewer()
        async with api.database.connect() as conn:
            if not await browse.is_visible(conn, viewer, item_id):
                raise Missing(f"no item {item_id}")
            found = await userdata.get_user_data(conn, viewer.user_id, item_id)
        return json_answer(user_state(found))

    @routes.post("/api/items/<id:item_id>/played")
    @require_login
    @document_response(UserState)
    async def mark_played(item_id: int) -> Response:
        """Mark an item played."""
        return await change(item_id, lambda c, u, i: userdata.set_played(c, u, i, True))

    @routes.delete("/api/items/<id:item_id>/played")
    @require_login
    @document_response(UserState)
    async def mark_unplayed(item_id: int) -> Response:
        """Mark an item unplayed."""
        return await change(item_id, lambda c, u, i: userdata.set_played(c, u, i, False))

    @routes.post("/api/items/<id:item_id>/favorite")
    @require_login
    @document_response(UserState)
    async def add_favorite(item_id: int) -> Response:
        """Make an item a favourite."""
        return await change(item_id, lambda c, u, i: userdata.set_favorite(c, u, i, True))

    @routes.delete("/api/items/<id:item_id>/favorite")
    @require_login
    @document_response(UserState)
    async def remove_favorite(item_id: int) -> Response:
        """Make an item a favourite no more."""
        return await change(item_id, lambda c, u, i: userdata.set_favorite(c, u, i, False))

    @routes.put("/api/items/<id:item_id>/progress")
    @require_login
    @validate_request(ProgressBody)
    @document_response(UserState)
    async def set_progress(item_id: int, data: ProgressBody) -> Response:
        """Set the resume position of an item (near the end: played)."""

        async def write(conn: Any, user_id: int, item: int) -> UserData:
            found = await get_item(conn, item)
            duration = None if found is None else found.duration_us
            return await userdata.record_progress(
                conn, user_id, item, data.position_us, duration_us=duration, final=False
            )

        return await change(item_id, write)

    return routes
