"""OpenID Connect login routes: the provider list, the redirect to a provider, the callback.

Thin: each route parses, calls ``OidcClient`` and sets the HTTP details (the sealed pending
login's cookie, redirects). What a finished login means is the injected ``complete`` callable's
business (``Auth.login_external`` then ``issue_for_user``, wired by the composition root). The
``OidcError`` tree of ``web.auth.oidc`` maps to HTTP here, in ``ERRORS``, on this blueprint only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from quart import Blueprint, Response, jsonify, make_response, redirect, request
from quart.typing import ResponseReturnValue
from werkzeug.wrappers.response import Response as WerkzeugResponse

from web.api.openapi import errors, no_content
from web.auth.oidc import (
    CallbackInvalid,
    CodeRejected,
    LoginDenied,
    NonceMismatch,
    OidcClient,
    OidcError,
    OidcIdentity,
    PendingLoginInvalid,
    ProviderUnavailable,
    StateMismatch,
    TokenInvalid,
    UnknownProvider,
)
from web.errors import error_response

Complete = Callable[[OidcIdentity], Awaitable[Mapping[str, Any]]]

ERRORS: dict[type[OidcError], tuple[int, str]] = {
    UnknownProvider: (404, "oidc_unknown_provider"),
    PendingLoginInvalid: (400, "oidc_login_expired"),
    StateMismatch: (400, "oidc_state_mismatch"),
    CallbackInvalid: (400, "oidc_callback_invalid"),
    LoginDenied: (401, "oidc_login_denied"),
    CodeRejected: (401, "oidc_code_rejected"),
    NonceMismatch: (401, "oidc_nonce_mismatch"),
    TokenInvalid: (401, "oidc_token_invalid"),
    ProviderUnavailable: (502, "oidc_provider_unavailable"),
    OidcError: (400, "oidc_error"),
}


def error_status(exc: OidcError) -> tuple[int, str]:
    """The first entry ``exc`` is an instance of: subclasses come before their bases."""
    return next(mapped for error_type, mapped in ERRORS.items() if isinstance(exc, error_type))


def oidc_routes(
    client: OidcClient,
    complete: Complete,
    *,
    public_url: str | None = None,
    allowed_redirects: Sequence[str] = (),
    prefix: str = "/api/auth/oidc",
) -> Blueprint:
    """The login routes.

    - ``GET {prefix}/providers``: ``{"providers": [{"name", "display_name", "start"}]}``.
    - ``GET {prefix}/<name>/start[?redirect=URL]``: 302 to the provider; the sealed pending login
      rides in an HttpOnly cookie scoped to this provider's routes.
    - ``GET|POST {prefix}/<name>/callback``: finishes the login and answers ``complete``'s JSON
      (200). When the start asked for ``redirect``, it answers 302 to that URL with ``complete``'s
      scalar fields in the fragment (``#access_token=...&token_type=...``), or with
      ``#error=CODE&error_description=...`` when the login failed: fragments never reach a
      server log. A redirect must be a path on this server or sit under one of
      ``allowed_redirects`` (same scheme and host, e.g. ``https://app.example`` or
      ``reelbox://auth``): anything else is refused, as tokens would leak to it.

    ``public_url`` is this server as the browser sees it (behind a proxy); without it the request's
    own scheme and host are used to build the callback URL registered with the provider.
    """
    routes = Blueprint("oidc", __name__)

    def cookie_path(name: str) -> str:
        return f"{prefix}/{name}/"

    def base_url() -> str:
        return (public_url or request.host_url).rstrip("/")

    @routes.errorhandler(OidcError)
    async def oidc_error(exc: OidcError) -> ResponseReturnValue:
        status, code = error_status(exc)
        return error_response(status, code, str(exc))

    @routes.get(f"{prefix}/providers")
    async def providers() -> ResponseReturnValue:
        listed = [
            {
                "name": p.name,
                "display_name": p.display_name or p.name,
                "start": f"{prefix}/{p.name}/start",
            }
            for p in client.providers.values()
        ]
        return jsonify(providers=listed)

    @routes.get(f"{prefix}/<name>/start")
    @no_content(302)
    @errors(400, 502)
    async def start(name: str) -> ResponseReturnValue:
        return_to = request.args.get("redirect") or None
        if return_to is not None and not redirect_allowed(return_to, allowed_redirects):
            return error_response(
                400, "oidc_redirect_refused", f"{return_to!r} is not an allowed redirect"
            )
        callback = f"{base_url()}{prefix}/{name}/callback"
        url, pending = await client.begin(name, callback, return_to=return_to)
        response = redirect(url, 302)
        secure = base_url().startswith("https://")
        # A form_post callback is a cross-site POST: only a SameSite=None cookie rides along.
        cross_site = client.provider(name).response_mode == "form_post" and secure
        response.set_cookie(
            _cookie_name(name),
            client.seal(pending),
            max_age=int(client.pending_max_age_s),
            path=cookie_path(name),
            secure=secure,
            httponly=True,
            samesite="None" if cross_site else "Lax",
        )
        return response

    @routes.route(f"{prefix}/<name>/callback", methods=["GET", "POST"])
    @no_content(302)
    @errors(400, 401, 502)
    async def callback(name: str) -> ResponseReturnValue:
        params = dict(request.args)
        if request.method == "POST":
            params.update((await request.form).to_dict())
        pending = client.unseal(request.cookies.get(_cookie_name(name)))
        if pending.provider != name:
            raise PendingLoginInvalid("the login cookie belongs to another provider")
        response: Response | WerkzeugResponse
        try:
            identity = await client.finish(pending, params)
            result = await complete(identity)
        except OidcError as exc:
            if pending.return_to is None:
                raise
            _, code = error_status(exc)
            fragment = urlencode({"error": code, "error_description": str(exc)})
            response = redirect(f"{pending.return_to.split('#')[0]}#{fragment}", 302)
        else:
            if pending.return_to is None:
                response = await make_response(jsonify(dict(result)))
            else:
                fields = {k: _fragment_value(v) for k, v in result.items() if _scalar(v)}
                target = f"{pending.return_to.split('#')[0]}#{urlencode(fields)}"
                response = redirect(target, 302)
        response.delete_cookie(_cookie_name(name), path=cookie_path(name))
        response.headers["Cache-Control"] = "no-store"
        return response

    return routes


def redirect_allowed(target: str, allowed: Sequence[str]) -> bool:
    """A path on this server, or a URL under one of ``allowed`` (same scheme and host, and
    under its path)."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in target):
        return False  # browsers drop tabs and newlines and read a backslash as "/"
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc:
        return target.startswith("/") and not target.startswith("//")
    for prefix in allowed:
        base = urlsplit(prefix)
        under = base.path.rstrip("/")
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and (
            parts.path == under or parts.path.startswith(f"{under}/") or not under
        ):
            return True
    return False


def _cookie_name(name: str) -> str:
    return f"reelbox_oidc_{name}"


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _fragment_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
