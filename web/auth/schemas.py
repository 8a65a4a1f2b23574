"""The authentication API's request and response models: what ``web.auth.routes`` reads and
answers, so that the OpenAPI document describes every login, key and invite exchange.

Requests are ``web.api.schemas.Body`` (strict, unknown fields refused): a missing or ill-typed
field answers 400 ``invalid_request`` naming it in ``details.field``. Secrets (passwords, codes,
tokens) are taken as sent, never stripped.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from web.api.schemas import Body, Id, Out, Rating, Role

Username = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Device = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginBody(Body):
    username: Username
    password: Password
    device: Device | None = Field(default=None, description="a name for this device's session")


class RefreshBody(Body):
    refresh_token: Secret = Field(description="used up: the answer carries a new one")


class LogoutBody(Body):
    refresh_token: Secret | None = Field(
        default=None,
        description="the session to end, for a client whose access token expired; without it "
        "the bearer token's session ends",
    )


class KeyCreate(Body):
    name: Username = Field(description="what the key is for")


class InviteCreate(Body):
    role: Role = "member"
    library_ids: list[Id] | None = Field(
        default=None, max_length=10_000, description="the libraries they may see; null: all"
    )
    max_parental_rating: Rating | None = Field(default=None, description="null: no limit")
    expires_in_s: Annotated[int, Field(ge=60, le=366 * 86_400)] | None = Field(
        default=None, description="null: the server's default"
    )


class InviteAccept(Body):
    code: Secret
    username: Username
    password: Password
    device: Device | None = None


# --- answers ------------------------------------------------------------------------------------


class Who(Out):
    id: int
    username: str
    roles: list[str]
    max_parental_rating: int | None
    library_ids: list[int] | None = Field(description="null: every library")


class TokenUser(Who):
    display_name: str | None


class Tokens(Out):
    """A login: a short-lived access token and the refresh token that renews it."""

    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme, not a secret)
    access_token: str
    expires_at: str | None
    refresh_token: str
    refresh_expires_at: str | None
    session_id: str
    user: TokenUser


class Me(Who):
    email: str | None
    display_name: str | None
    provider: str | None
    auth_method: str = Field(description="bearer, basic, api_key or stream")
    session_id: str | None


class Revoked(Out):
    revoked: int = Field(description="how many sessions ended")


class LoginSession(Out):
    id: str
    device_name: str | None
    client: str | None
    created_at: str | None
    last_seen_at: str | None
    expires_at: str | None
    current: bool


class LoginSessions(Out):
    sessions: list[LoginSession]


class ApiKey(Out):
    id: int
    name: str
    prefix: str
    created_at: str | None
    last_used_at: str | None


class NewApiKey(ApiKey):
    key: str = Field(description="the key itself: shown this once")


class ApiKeys(Out):
    keys: list[ApiKey]


class Invite(Out):
    id: int
    role: str
    library_ids: list[int] | None
    max_parental_rating: int | None
    expires_at: str | None
    created_by: int | None
    created_at: str | None
    used_by: int | None
    used_at: str | None


class NewInvite(Invite):
    code: str = Field(description="the invite code: shown this once")


class Invites(Out):
    invites: list[Invite]
