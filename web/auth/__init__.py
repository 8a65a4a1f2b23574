"""Authentication: accounts, passwords, tokens, and OpenID Connect login.

Modules: ``passwords`` (argon2id), ``keys`` (the signing key ring every node shares), ``tokens``
(access JWTs, stream tokens, opaque secrets), ``service`` (``Auth``: logins, sessions, API keys,
invites), ``principal`` (who is asking, and the route guards), ``routes`` (``/api/auth/*``,
``/api/invites*``, ``/api/users/me``), ``oidc`` (OpenID Connect login).

The errors of password, token, key and invite handling, mapped to HTTP once in ``web.errors``
(``{"error": {"code", "message", "details"}}``)::

    AuthError
    ├── Unauthorized          401 unauthorized (with WWW-Authenticate): no usable credentials
    │   ├── InvalidCredentials      wrong username or password: one answer for both
    │   ├── InvalidToken            malformed, tampered, foreign key, unknown kid, wrong alg/aud,
    │   │   │                       unknown or reused refresh token, unknown API key
    │   │   └── TokenExpired        past its expiry (after the leeway)
    │   └── SessionRevoked          the login session ended: logout, reuse detected, expiry
    ├── Forbidden             403 forbidden: known, but not allowed (role, disabled, stream scope)
    ├── RateLimited           429 rate_limited (with Retry-After): too many login attempts
    ├── InvalidRequest        400 invalid_request: a missing or ill-typed field, named in details
    ├── AuthNotFound          404 not_found: no such API key, session or invite (of yours)
    ├── Conflict              409 conflict: the username or email is taken
    └── InviteUnusable        410 invite_unusable: unknown, expired, used or revoked invite
"""

from __future__ import annotations

from typing import Any


class AuthError(Exception):
    """Base of authentication errors; ``details`` go into the error body."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = details


class Unauthorized(AuthError):
    """No usable credentials. ``scheme`` is the challenge answered (``Bearer`` or ``Basic``)."""

    scheme = "Bearer"
    error: str | None = None  # RFC 6750 error code for the challenge

    def __init__(
        self, message: str = "log in first", *, scheme: str = "Bearer", **details: Any
    ) -> None:
        super().__init__(message, **details)
        self.scheme = scheme


class InvalidCredentials(Unauthorized):
    def __init__(self, *, scheme: str = "Bearer") -> None:
        super().__init__("wrong username or password", scheme=scheme)


class InvalidToken(Unauthorized):
    error = "invalid_token"


class TokenExpired(InvalidToken):
    def __init__(self, message: str = "the token has expired", **details: Any) -> None:
        super().__init__(message, reason="expired", **details)


class SessionRevoked(InvalidToken):
    def __init__(self, message: str = "the login session has ended; log in again") -> None:
        super().__init__(message, reason="revoked")


class Forbidden(AuthError):
    pass


class RateLimited(AuthError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after_s=round(retry_after, 1))
        self.retry_after = retry_after


class InvalidRequest(AuthError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, **({} if field is None else {"field": field}))
        self.field = field


class AuthNotFound(AuthError):
    pass


class Conflict(AuthError):
    pass


class InviteUnusable(AuthError):
    pass
