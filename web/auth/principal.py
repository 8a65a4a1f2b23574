"""Who is asking: the ``Principal`` of a request, how it is found, and the route guards.

The app runs ``authenticate_request`` before every request when authentication is configured.
It reads, in this order, ``Authorization: Bearer <access JWT>``, ``Authorization: Basic``
(username and password; rate-limited like logins), ``Authorization: ApiKey <key>`` or
``X-Api-Key``, and ``?token=<stream token>`` (for players that cannot send headers). No
credentials: anonymous. Unusable credentials are remembered, not raised, so public routes still
answer (and a client with an expired token can still refresh); guarded routes raise them.

Routes take the principal with ``current_principal()`` (or ``optional_principal()``) and guard
with ``require_login``, ``require_admin``, ``require_role(...)``, or ``allow_stream_token(...)``
for the playback routes a stream token may open. Library visibility: ``library_ids`` None means
every library (admins, or users granted all); otherwise only those ids, and
``max_parental_rating`` caps what a child sees (applied by ``ingest.catalog.browse.Viewer``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from quart import Request, current_app, g, request

from web.auth import AuthError, Forbidden, InvalidToken, Unauthorized

if TYPE_CHECKING:
    from web.auth.service import Auth

Method = Literal["bearer", "basic", "api_key", "stream"]
EXTENSION = "reelbox.auth"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    roles: frozenset[str]
    max_parental_rating: int | None
    library_ids: frozenset[int] | None  # None: every library
    session_id: str | None  # the login session (bearer, and stream tokens minted from one)
    method: Method
    playback_session: str | None = None  # a stream token opens this playback session only

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def can_see_library(self, library_id: int) -> bool:
        return self.library_ids is None or library_id in self.library_ids

    def may_stream(self, playback_session: str) -> bool:
        return self.playback_session is None or self.playback_session == playback_session


# --- finding the principal ----------------------------------------------------------------------


def install(app_auth: Auth) -> Callable[[], Awaitable[None]]:
    """The before-request hook for an app using ``app_auth``."""

    async def hook() -> None:
        g.reelbox_principal = None
        g.reelbox_auth_error = None
        try:
            g.reelbox_principal = await authenticate(request, app_auth)
        except AuthError as exc:
            g.reelbox_auth_error = exc

    return hook


async def authenticate(req: Request, app_auth: Auth | None = None) -> Principal | None:
    """The principal ``req``'s credentials name; None when it carries none. Raises the
    ``Unauthorized``/``RateLimited`` its credentials earn."""
    auth = app_auth if app_auth is not None else current_app.extensions[EXTENSION]
    header = req.headers.get("Authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        match scheme.lower():
            case "bearer":
                return await auth.principal_for_access_token(value)
            case "basic":
                username, password = _basic(value)
                return await auth.principal_for_password(
                    username, password, addr=_address(req), method="basic"
                )
            case "apikey":
                return await auth.principal_for_api_key(value)
            case _:
                raise Unauthorized(f"unsupported authorization scheme {scheme!r}")
    api_key = req.headers.get("X-Api-Key")
    if api_key:
        return await auth.principal_for_api_key(api_key.strip())
    token = req.args.get("token")
    if token:
        return await auth.principal_for_stream_token(token)
    return None


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidToken("malformed Basic credentials", scheme="Basic") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise InvalidToken("Basic credentials are username:password", scheme="Basic")
    return username, password


def _address(req: Request) -> str:
    return req.remote_addr or "unknown"


def optional_principal() -> Principal | None:
    """The request's principal, None when anonymous; raises what unusable credentials earned."""
    error: AuthError | None = getattr(g, "reelbox_auth_error", None)
    if error is not None:
        raise error
    principal: Principal | None = getattr(g, "reelbox_principal", None)
    return principal


def current_principal() -> Principal:
    """The request's principal; ``Unauthorized`` when anonymous."""
    principal = optional_principal()
    if principal is None:
        raise Unauthorized("log in first: send Authorization: Bearer <access token>")
    return principal


# --- guards -------------------------------------------------------------------------------------


def _login(*, stream_param: str | None, kwargs: dict[str, object]) -> Principal:
    principal = current_principal()
    if principal.method == "stream":
        wanted = kwargs.get(stream_param) if stream_param else None
        if not isinstance(wanted, str) or not principal.may_stream(wanted):
            raise Forbidden("a stream token opens only the playback session it was made for")
    return principal


def require_login(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Any logged-in principal except a stream token."""

    @wraps(view)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        _login(stream_param=None, kwargs=kwargs)
        return await view(*args, **kwargs)

    return guarded


def require_role(*roles: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A logged-in principal holding one of ``roles``."""

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = _login(stream_param=None, kwargs=kwargs)
            if not principal.has_role(*roles):
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            return await view(*args, **kwargs)

        return guarded

    return decorate


def require_admin(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A logged-in admin."""
    return require_role("admin")(view)


def allow_stream_token(
    param: str = "session_id",
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A logged-in principal, or a stream token made for the playback session named by the
    route's ``param``."""

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            _login(stream_param=param, kwargs=kwargs)
            return await view(*args, **kwargs)

        return guarded

    return decorate
