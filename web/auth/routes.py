"""The authentication API: logins and sessions, API keys, invites, and who am I.

    POST   /api/auth/login          {username, password, device?} -> tokens
    POST   /api/auth/refresh        {refresh_token} -> tokens (the refresh token is used up)
    POST   /api/auth/logout         this session (bearer), or {refresh_token}'s session
    POST   /api/auth/logout-all     every session of the user
    GET    /api/auth/sessions       the user's live sessions
    DELETE /api/auth/sessions/<id>  end one of them
    GET    /api/auth/keys           the user's API keys;  POST {name} -> the key, shown once
    DELETE /api/auth/keys/<id>
    POST   /api/invites             (admin) {role, library_ids?, max_parental_rating?,
                                    expires_in_s?} -> the invite and its code, shown once
    GET    /api/invites             (admin);  DELETE /api/invites/<id> (admin)
    POST   /api/invites/accept      {code, username, password, device?} -> tokens
    GET    /api/users/me

Bodies are JSON objects; a missing or ill-typed field is 400 ``invalid_request`` naming it in
``details.field``. Errors are the one shape of ``web.errors``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue

from ingest.catalog.auth import ApiKeyRecord, InviteRecord, SessionRecord
from web.auth import InvalidRequest
from web.auth.principal import Principal, current_principal, require_admin, require_login
from web.auth.service import Auth, TokenPair


def auth_routes(auth: Auth) -> Blueprint:
    routes = Blueprint("auth", __name__)

    @routes.post("/api/auth/login")
    async def login() -> ResponseReturnValue:
        body = await _body()
        pair = await auth.login(
            _text(body, "username", limit=128),
            _text(body, "password", limit=4096),
            addr=_address(),
            device=_optional_text(body, "device"),
            client=request.headers.get("User-Agent"),
        )
        return jsonify(tokens_json(pair)), 200

    @routes.post("/api/auth/refresh")
    async def refresh() -> ResponseReturnValue:
        body = await _body()
        pair = await auth.refresh(_text(body, "refresh_token", limit=256))
        return jsonify(tokens_json(pair)), 200

    @routes.post("/api/auth/logout")
    async def logout() -> ResponseReturnValue:
        # A client whose access token expired can still end its session with the refresh token.
        body = await request.get_json(silent=True)
        token = body.get("refresh_token") if isinstance(body, dict) else None
        if isinstance(token, str) and token:
            await auth.logout_refresh_token(token)
            return "", 204
        principal = current_principal()
        if principal.method != "bearer" or principal.session_id is None:
            raise InvalidRequest(
                "send the refresh token of the session to end", field="refresh_token"
            )
        await auth.logout(principal.session_id)
        return "", 204

    @routes.post("/api/auth/logout-all")
    @require_login
    async def logout_all() -> ResponseReturnValue:
        ended = await auth.logout_all(current_principal().user_id)
        return jsonify(revoked=ended), 200

    @routes.get("/api/auth/sessions")
    @require_login
    async def sessions() -> ResponseReturnValue:
        principal = current_principal()
        found = await auth.sessions(principal.user_id)
        return jsonify(sessions=[_session(s, principal) for s in found])

    @routes.delete("/api/auth/sessions/<session_id>")
    @require_login
    async def end_session(session_id: str) -> ResponseReturnValue:
        await auth.end_session(current_principal().user_id, session_id)
        return "", 204

    @routes.get("/api/auth/keys")
    @require_login
    async def keys() -> ResponseReturnValue:
        found = await auth.api_keys(current_principal().user_id)
        return jsonify(keys=[_api_key(k) for k in found])

    @routes.post("/api/auth/keys")
    @require_login
    async def create_key() -> ResponseReturnValue:
        body = await _body()
        record, secret = await auth.create_api_key(
            current_principal().user_id, _text(body, "name", limit=128)
        )
        return jsonify({**_api_key(record), "key": secret}), 201

    @routes.delete("/api/auth/keys/<id:key_id>")
    @require_login
    async def revoke_key(key_id: int) -> ResponseReturnValue:
        await auth.revoke_api_key(current_principal().user_id, key_id)
        return "", 204

    @routes.post("/api/invites")
    @require_admin
    async def create_invite() -> ResponseReturnValue:
        body = await _body()
        record, code = await auth.create_invite(
            current_principal().user_id,
            role=_optional_text(body, "role") or "member",
            library_ids=_optional_ids(body, "library_ids"),
            max_parental_rating=_optional_int(body, "max_parental_rating"),
            ttl_s=_optional_int(body, "expires_in_s", minimum=60),
        )
        return jsonify({**_invite(record), "code": code}), 201

    @routes.get("/api/invites")
    @require_admin
    async def invites() -> ResponseReturnValue:
        return jsonify(invites=[_invite(i) for i in await auth.invites()])

    @routes.delete("/api/invites/<id:invite_id>")
    @require_admin
    async def revoke_invite(invite_id: int) -> ResponseReturnValue:
        await auth.revoke_invite(invite_id)
        return "", 204

    @routes.post("/api/invites/accept")
    async def accept_invite() -> ResponseReturnValue:
        body = await _body()
        pair = await auth.accept_invite(
            _text(body, "code", limit=256),
            _text(body, "username", limit=128),
            _text(body, "password", limit=4096),
            addr=_address(),
            device=_optional_text(body, "device"),
            client=request.headers.get("User-Agent"),
        )
        return jsonify(tokens_json(pair)), 201

    @routes.get("/api/users/me")
    @require_login
    async def me() -> ResponseReturnValue:
        principal = current_principal()
        user = await auth.user(principal.user_id)
        return jsonify(
            {
                **_who(principal),
                "email": user.email,
                "display_name": user.display_name,
                "provider": user.provider,
                "auth_method": principal.method,
                "session_id": principal.session_id,
            }
        )

    return routes


class ExternalIdentity(Protocol):
    """What an external (OIDC) login proved: ``web.auth.oidc.OidcIdentity`` has these."""

    @property
    def provider(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def email_verified(self) -> bool: ...
    @property
    def name(self) -> str | None: ...


def external_login(
    auth: Auth, *, role: str = "member", all_libraries: bool = False
) -> Callable[[ExternalIdentity], Awaitable[dict[str, Any]]]:
    """The ``complete`` of the OIDC routes: find, link or create the user (``login_external``),
    open a session, and answer the same tokens as a password login."""

    async def complete(identity: ExternalIdentity) -> dict[str, Any]:
        user = await auth.login_external(
            identity.provider,
            identity.subject,
            identity.email,
            identity.email_verified,
            identity.name,
            role=role,
            all_libraries=all_libraries,
        )
        pair = await auth.issue_for_user(
            user, identity.provider, client=request.headers.get("User-Agent")
        )
        return tokens_json(pair)

    return complete


# --- request bodies -----------------------------------------------------------------------------


async def _body() -> dict[str, Any]:
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("send a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, limit: int) -> str:
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"{name} is missing", field=name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a non-empty string", field=name)
    if len(value) > limit:
        raise InvalidRequest(f"{name} has at most {limit} characters", field=name)
    return value


def _optional_text(body: dict[str, Any], name: str, *, limit: int = 256) -> str | None:
    return None if body.get(name) is None else _text(body, name, limit=limit)


def _optional_int(body: dict[str, Any], name: str, *, minimum: int = 0) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidRequest(f"{name} must be an integer of at least {minimum}", field=name)
    return value


def _optional_ids(body: dict[str, Any], name: str) -> list[int] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in value
    ):
        raise InvalidRequest(f"{name} must be a list of library ids, or null for all", field=name)
    return sorted(set(value))


def _address() -> str:
    return request.remote_addr or "unknown"


# --- answers ------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _who(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.user_id,
        "username": principal.username,
        "roles": sorted(principal.roles),
        "max_parental_rating": principal.max_parental_rating,
        "library_ids": None if principal.library_ids is None else sorted(principal.library_ids),
    }


def tokens_json(pair: TokenPair) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "access_token": pair.access_token,
        "expires_at": _time(pair.access_expires_at),
        "refresh_token": pair.refresh_token,
        "refresh_expires_at": _time(pair.refresh_expires_at),
        "session_id": pair.session_id,
        "user": {**_who(pair.principal), "display_name": pair.user.display_name},
    }


def _session(session: SessionRecord, principal: Principal) -> dict[str, Any]:
    return {
        "id": session.id,
        "device_name": session.device_name,
        "client": session.client,
        "created_at": _time(session.created_at),
        "last_seen_at": _time(session.last_seen_at),
        "expires_at": _time(session.expires_at),
        "current": session.id == principal.session_id,
    }


def _api_key(key: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": _time(key.created_at),
        "last_used_at": _time(key.last_used_at),
    }


def _invite(invite: InviteRecord) -> dict[str, Any]:
    return {
        "id": invite.id,
        "role": invite.role,
        "library_ids": None if invite.library_ids is None else list(invite.library_ids),
        "max_parental_rating": invite.max_parental_rating,
        "expires_at": _time(invite.expires_at),
        "created_by": invite.created_by,
        "created_at": _time(invite.created_at),
        "used_by": invite.used_by,
        "used_at": _time(invite.used_at),
    }
