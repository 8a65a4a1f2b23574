"""The REST resources of the API: one module per resource, each a blueprint over ``Api``.

    users       GET /api/users, GET|PATCH|DELETE /api/users/<id> (admin); PATCH /api/users/me
    libraries   GET /api/libraries[/<id>]; POST /api/libraries, DELETE /api/libraries/<id>,
                POST /api/libraries/<id>/sources, POST /api/libraries/<id>/scan (admin);
                GET /api/libraries/<id>/scan (progress)
    items       GET /api/items[/<id>], /api/series/<id>, /api/seasons/<id>, /api/albums/<id>,
                /api/search, /api/genres, /api/years, /api/home
    images      GET /api/{items,series,albums}/<id>/images/<kind>?width=&height=&format=
    userdata    GET /api/items/<id>/userdata, POST|DELETE /api/items/<id>/{played,favorite},
                PUT /api/items/<id>/progress
    playlists   GET|POST /api/playlists, GET|PATCH|DELETE /api/playlists/<id>,
                POST /api/playlists/<id>/items, PATCH|DELETE /api/playlists/<id>/items/<entry>,
                PUT|DELETE /api/playlists/<id>/shares/<user>

Shared: ``context`` (``Api``, the viewer, the errors), ``schemas`` (pydantic models: requests
forbid unknown fields), ``records`` (catalog records as those models), ``cache`` (the metadata
query cache and ETags), ``scans`` (the scan queue), ``openapi`` (the document at
/api/openapi.json). Every route needs a login; what a user may not see is 404, what they see but
may not change is 403.
"""

from __future__ import annotations

from quart import Blueprint

from web.api.context import Api
from web.api.images import image_routes
from web.api.items import item_routes
from web.api.libraries import library_routes
from web.api.playlists import playlist_routes
from web.api.userdata import userdata_routes
from web.api.users import user_routes

__all__ = ["Api", "api_blueprints"]


def api_blueprints(api: Api) -> list[Blueprint]:
    return [
        user_routes(api),
        library_routes(api),
        item_routes(api),
        image_routes(api),
        userdata_routes(api),
        playlist_routes(api),
    ]
