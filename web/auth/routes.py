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

Bodies are the models of ``web.auth.schemas``; a missing or ill-typed field is 400
``invalid_request`` naming it in ``details.field``. Errors are the one shape of ``web.errors``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from quart import Blueprint, Response, request
from quart.typing import ResponseReturnValue
from quart_schema import document_request, document_response, validate_request

from ingest.catalog.auth import ApiKeyRecord, InviteRecord, SessionRecord
from web.api.cache import json_response
from web.api.openapi import errors, no_content
from web.auth import InvalidRequest
from web.auth.principal import Principal, current_principal, require_admin, require_login
from web.auth.schemas import (
    ApiKey,
    ApiKeys,
    Invite,
    InviteAccept,
    InviteCreate,
    Invites,
    KeyCreate,
    LoginBody,
    LoginSession,
    LoginSessions,
    LogoutBody,
    Me,
    NewApiKey,
    NewInvite,
    RefreshBody,
    Revoked,
    Tokens,
    TokenUser,
    Who,
)
from web.auth.service import Auth, TokenPair


def auth_routes(auth: Auth) -> Blueprint:
    routes = Blueprint("auth", __name__)

    @routes.post("/api/auth/login")
    @validate_request(LoginBody)
    @document_response(Tokens)
    @errors(401, 429)
    async def login(data: LoginBody) -> Response:
        """Log in with a username and password."""
        pair = await auth.login(
            data.username,
            data.password,
            addr=_address(),
            device=data.device,
            client=request.headers.get("User-Agent"),
        )
        return json_response(tokens_out(pair))

    @routes.post("/api/auth/refresh")
    @validate_request(RefreshBody)
    @document_response(Tokens)
    @errors(401)
    async def refresh(data: RefreshBody) -> Response:
        """Trade a refresh token (used up) for new tokens."""
        return json_response(tokens_out(await auth.refresh(data.refresh_token)))

    @routes.post("/api/auth/logout")
    @document_request(LogoutBody)
    @no_content()
    @errors(400, 401)
    async def logout() -> ResponseReturnValue:
        """End this session: the bearer token's, or the refresh token's in the body."""
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
    @document_response(Revoked)
    async def logout_all() -> Response:
        """End every session of yours, on every device."""
        ended = await auth.logout_all(current_principal().user_id)
        return json_response(Revoked(revoked=ended))

    @routes.get("/api/auth/sessions")
    @require_login
    @document_response(LoginSessions)
    async def sessions() -> Response:
        """Your live login sessions."""
        principal = current_principal()
        found = await auth.sessions(principal.user_id)
        return json_response(LoginSessions(sessions=[_session(s, principal) for s in found]))

    @routes.delete("/api/auth/sessions/<session_id>")
    @require_login
    @no_content()
    async def end_session(session_id: str) -> ResponseReturnValue:
        """End one of your sessions."""
        await auth.end_session(current_principal().user_id, session_id)
        return "", 204

    @routes.get("/api/auth/keys")
    @require_login
    @document_response(ApiKeys)
    async def keys() -> Response:
        """Your API keys (without the keys themselves)."""
        found = await auth.api_keys(current_principal().user_id)
        return json_response(ApiKeys(keys=[_api_key(k) for k in found]))

    @routes.post("/api/auth/keys")
    @require_login
    @validate_request(KeyCreate)
    @document_response(NewApiKey, 201)
    async def create_key(data: KeyCreate) -> Response:
        """A new API key for an integration: the key is shown this once."""
        record, secret = await auth.create_api_key(current_principal().user_id, data.name)
        return json_response(NewApiKey(**_api_key(record).model_dump(), key=secret), 201)

    @routes.delete("/api/auth/keys/<id:key_id>")
    @require_login
    @no_content()
    async def revoke_key(key_id: int) -> ResponseReturnValue:
        """Revoke one of your API keys."""
        await auth.revoke_api_key(current_principal().user_id, key_id)
        return "", 204

    @routes.post("/api/invites")
    @require_admin
    @validate_request(InviteCreate)
    @document_response(NewInvite, 201)
    async def create_invite(data: InviteCreate) -> Response:
        """Invite someone (admins): the code is shown this once."""
        record, code = await auth.create_invite(
            current_principal().user_id,
            role=data.role,
            library_ids=None if data.library_ids is None else sorted(set(data.library_ids)),
            max_parental_rating=data.max_parental_rating,
            ttl_s=data.expires_in_s,
        )
        return json_response(NewInvite(**_invite(record).model_dump(), code=code), 201)

    @routes.get("/api/invites")
    @require_admin
    @document_response(Invites)
    async def invites() -> Response:
        """Every invite (admins)."""
        return json_response(Invites(invites=[_invite(i) for i in await auth.invites()]))

    @routes.delete("/api/invites/<id:invite_id>")
    @require_admin
    @no_content()
    async def revoke_invite(invite_id: int) -> ResponseReturnValue:
        """Revoke an invite (admins)."""
        await auth.revoke_invite(invite_id)
        return "", 204

    @routes.post("/api/invites/accept")
    @validate_request(InviteAccept)
    @document_response(Tokens, 201)
    @errors(401, 409, 410, 429)
    async def accept_invite(data: InviteAccept) -> Response:
        """Create your account from an invite code, and log in."""
        pair = await auth.accept_invite(
            data.code,
            data.username,
            data.password,
            addr=_address(),
            device=data.device,
            client=request.headers.get("User-Agent"),
        )
        return json_response(tokens_out(pair), 201)

    @routes.get("/api/users/me")
    @require_login
    @document_response(Me)
    async def me() -> Response:
        """Who you are, and how you logged in."""
        principal = current_principal()
        user = await auth.user(principal.user_id)
        return json_response(
            Me(
                **_who(principal).model_dump(),
                email=user.email,
                display_name=user.display_name,
                provider=user.provider,
                auth_method=principal.method,
                session_id=principal.session_id,
            )
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
        return tokens_out(pair).model_dump(mode="json")

    return complete


# --- requests -----------------------------------------------------------------------------------


def _address() -> str:
    return request.remote_addr or "unknown"


# --- answers ------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _who(principal: Principal) -> Who:
    return Who(
        id=principal.user_id,
        username=principal.username,
        roles=sorted(principal.roles),
        max_parental_rating=principal.max_parental_rating,
        library_ids=None if principal.library_ids is None else sorted(principal.library_ids),
    )


def tokens_out(pair: TokenPair) -> Tokens:
    return Tokens(
        access_token=pair.access_token,
        expires_at=_time(pair.access_expires_at),
        refresh_token=pair.refresh_token,
        refresh_expires_at=_time(pair.refresh_expires_at),
        session_id=pair.session_id,
        user=TokenUser(**_who(pair.principal).model_dump(), display_name=pair.user.display_name),
    )


def _session(session: SessionRecord, principal: Principal) -> LoginSession:
    return LoginSession(
        id=session.id,
        device_name=session.device_name,
        client=session.client,
        created_at=_time(session.created_at),
        last_seen_at=_time(session.last_seen_at),
        expires_at=_time(session.expires_at),
        current=session.id == principal.session_id,
    )


def _api_key(key: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=_time(key.created_at),
        last_used_at=_time(key.last_used_at),
    )


def _invite(invite: InviteRecord) -> Invite:
    return Invite(
        id=invite.id,
        role=invite.role,
        library_ids=None if invite.library_ids is None else list(invite.library_ids),
        max_parental_rating=invite.max_parental_rating,
        expires_at=_time(invite.expires_at),
        created_by=invite.created_by,
        created_at=_time(invite.created_at),
        used_by=invite.used_by,
        used_at=_time(invite.used_at),
    )
