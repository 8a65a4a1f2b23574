"""Users: admins list, change and delete accounts; everyone changes their own name and password.

    GET    /api/users                 (admin) every user
    GET    /api/users/<id>            (admin)
    PATCH  /api/users/<id>            (admin) display name, email, role, parental limit,
                                      disabled, library access (null: every library)
    DELETE /api/users/<id>            (admin)
    PATCH  /api/users/me              your display name; a new password with the current one

(GET /api/users/me is ``web.auth.routes``'.) Access tokens carry a snapshot of roles, limits and
libraries, so a change to those, disabling an account or a new password ends the user's
sessions (``Auth.logout_all``): they log in again and see what they now may. An admin may not
demote, disable or delete themself (409), so a server always keeps the admin who could fix it.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request

from ingest.catalog import users as user_queries
from web.api.cache import json_answer, json_response
from web.api.context import Api, Clash, Invalid, Missing
from web.api.openapi import errors, etagged, no_content
from web.api.records import user_out
from web.api.schemas import MeUpdate, MeUpdated, UserList, UserOut, UserUpdate
from web.auth import InvalidCredentials
from web.auth.passwords import password_problem
from web.auth.principal import current_principal, require_admin, require_login

# Changes that alter what the user's tokens say: their sessions end.
_IN_TOKENS = frozenset({"role", "max_parental_rating", "disabled", "library_ids"})


def user_routes(api: Api) -> Blueprint:
    routes = Blueprint("users", __name__)

    async def described(conn: Any, user_id: int) -> UserOut:
        user = await user_queries.get_user(conn, user_id)
        if user is None:
            raise Missing(f"no user {user_id}")
        return user_out(user, await user_queries.visible_libraries(conn, user))

    @routes.get("/api/users")
    @require_admin
    @document_response(UserList)
    @etagged
    async def list_users() -> Response:
        """Every user (admins)."""
        async with api.database.connect() as conn:
            found = [
                user_out(u, await user_queries.visible_libraries(conn, u))
                for u in await user_queries.list_users(conn)
            ]
        return json_answer(UserList(users=found))

    @routes.get("/api/users/<id:user_id>")
    @require_admin
    @document_response(UserOut)
    @etagged
    async def get_user(user_id: int) -> Response:
        """One user (admins)."""
        async with api.database.connect() as conn:
            return json_answer(await described(conn, user_id))

    @routes.patch("/api/users/<id:user_id>")
    @require_admin
    @validate_request(UserUpdate)
    @document_response(UserOut)
    @errors(409)
    async def update_user(user_id: int, data: UserUpdate) -> Response:
        """Change a user's name, email, role, parental limit, access or disabled flag (admins).

        Changing the role, limit, access or disabled flag ends the user's sessions."""
        changed = data.model_fields_set
        if user_id == current_principal().user_id and (
            ("role" in changed and data.role != "admin") or data.disabled
        ):
            raise Clash("you cannot demote or disable yourself; ask another admin")
        async with api.database.begin() as conn:
            user = await user_queries.get_user(conn, user_id)
            if user is None:
                raise Missing(f"no user {user_id}")
            values: dict[str, Any] = {}
            if "display_name" in changed:
                values["display_name"] = data.display_name or None
            if "email" in changed and data.email != user.email:
                if data.email is not None:
                    other = await user_queries.get_user_by_email(conn, data.email)
                    if other is not None and other.id != user_id:
                        raise Clash("another user has this email address", field="email")
                values["email"] = data.email
                values["email_verified"] = False
            if "role" in changed:
                if data.role is None:
                    raise Invalid("a user needs a role", field="role")
                values["roles"] = [data.role]
            if "max_parental_rating" in changed:
                values["max_parental_rating"] = data.max_parental_rating
            if "disabled" in changed:
                if data.disabled is None:
                    raise Invalid("disabled is true or false", field="disabled")
                values["disabled"] = data.disabled
            if "library_ids" in changed:
                settings = dict(user.settings)
                settings[user_queries.ALL_LIBRARIES] = data.library_ids is None
                values["settings"] = settings
                if data.library_ids is not None:
                    wanted = frozenset(data.library_ids)
                    stored = await user_queries.set_library_access(conn, user_id, wanted)
                    if stored != wanted:
                        raise Invalid(
                            f"no libraries {sorted(wanted - stored)}", field="library_ids"
                        )
            if values:
                await user_queries.update_user(conn, user_id, **values)
            answer = await described(conn, user_id)
        if changed & _IN_TOKENS:
            await api.auth.logout_all(user_id)
        return json_response(answer)

    @routes.delete("/api/users/<id:user_id>")
    @require_admin
    @no_content()
    @errors(409)
    async def delete_user(user_id: int) -> Response:
        """Delete a user and everything that is theirs (admins)."""
        if user_id == current_principal().user_id:
            raise Clash("you cannot delete yourself; ask another admin")
        async with api.database.connect() as conn:
            if await user_queries.get_user(conn, user_id) is None:
                raise Missing(f"no user {user_id}")
        await api.auth.logout_all(user_id)
        async with api.database.begin() as conn:
            await user_queries.delete_user(conn, user_id)
        return Response(status=204)

    @routes.patch("/api/users/me")
    @require_login
    @validate_request(MeUpdate)
    @document_response(MeUpdated)
    async def update_me(data: MeUpdate) -> Response:
        """Change your display name, or your password (send the current one too).

        A new password ends every session of yours, this one included: log in again."""
        principal = current_principal()
        ended = 0
        if data.new_password is not None:
            problem = password_problem(data.new_password)
            if problem is not None:
                raise Invalid(problem, field="new_password")
            if not data.current_password:
                raise Invalid("send your current password too", field="current_password")
            try:
                await api.auth.check_password(
                    principal.username,
                    data.current_password,
                    addr=request.remote_addr or "unknown",
                )
            except InvalidCredentials:
                raise Invalid("the current password is wrong", field="current_password") from None
            hashed = await api.auth.hash_password(data.new_password)
        async with api.database.begin() as conn:
            if "display_name" in data.model_fields_set:
                await user_queries.update_user(
                    conn, principal.user_id, display_name=data.display_name or None
                )
            if data.new_password is not None:
                await user_queries.set_password_hash(conn, principal.user_id, hashed)
            user = await user_queries.get_user(conn, principal.user_id)
        if user is None:
            raise Missing("your account is gone")
        if data.new_password is not None:
            ended = await api.auth.logout_all(principal.user_id)
        return json_response(
            MeUpdated(id=user.id, display_name=user.display_name, sessions_ended=ended)
        )

    return routes
