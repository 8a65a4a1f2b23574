"""OpenID Connect login against a real provider (oidc-provider on loopback).

An httpx client plays the browser: it follows the provider's redirects, fills in its login and
consent forms and lands on a Quart app serving ``oidc_routes``, mounted at ``APP_ORIGIN``. The
security checks (state, replayed code, nonce, expiry, foreign key, unknown kid, sealed login) call
``OidcClient`` with the real callback parameters and tamper with one thing at a time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from quart import Quart

from tests.fixtures.oidc import APP_ORIGIN, OidcTestProvider
from tests.fixtures.services import free_port
from web.auth.oidc import (
    AppleSigningKey,
    CodeRejected,
    LoginDenied,
    NonceMismatch,
    OidcClient,
    OidcIdentity,
    OidcProvider,
    PendingLogin,
    PendingLoginInvalid,
    ProviderUnavailable,
    StateMismatch,
    TokenInvalid,
    apple_client_secret,
)
from web.auth.oidc_routes import oidc_routes, redirect_allowed

pytestmark = pytest.mark.anyio

SECRET = b"reelbox-test-server-secret"


class Clock:
    """Wall-clock time, moved by the tests."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def providers(op: OidcTestProvider) -> list[OidcProvider]:
    test = OidcProvider.generic(
        "test", op.issuer, op.client_id, op.client_secret, display_name="Test IdP"
    )
    return [test, replace(test, name="testpost", response_mode="form_post")]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(oidc_provider: OidcTestProvider, http: httpx.AsyncClient, clock: Clock) -> OidcClient:
    return OidcClient(providers(oidc_provider), http, SECRET, clock=clock)


@dataclass
class App:
    browser: httpx.AsyncClient
    identities: list[OidcIdentity] = field(default_factory=list)


@pytest.fixture
async def app(client: OidcClient) -> AsyncIterator[App]:
    """A Quart app with the OIDC routes; ``complete`` records the identity and answers tokens."""
    identities: list[OidcIdentity] = []

    async def complete(identity: OidcIdentity) -> Mapping[str, Any]:
        identities.append(identity)
        return {"access_token": f"token-for-{identity.subject}", "token_type": "Bearer"}

    quart = Quart(__name__)
    quart.register_blueprint(
        oidc_routes(client, complete, allowed_redirects=["reelbox://auth", "https://app.test"])
    )
    mounts = {APP_ORIGIN: httpx.ASGITransport(app=quart)}
    async with httpx.AsyncClient(mounts=mounts, timeout=10) as browser:
        yield App(browser, identities)


# --- the browser -----------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((found.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in found:
            self.forms[-1][1][found["name"]] = found.get("value", "")


@dataclass
class Stop:
    url: str  # where the browser was about to go, or last went
    params: dict[str, str]  # the query, or the fields of the form it was about to post
    response: httpx.Response | None = None


async def browse(
    browser: httpx.AsyncClient,
    url: str,
    account: str = "alice",
    *,
    stop_at: str | None = None,
    abort: bool = False,
) -> Stop:
    """Follow redirects and post the provider's forms (login as ``account``, then consent) until
    the next hop starts with ``stop_at`` or a page has no form to fill in."""
    method, data = "GET", None
    for _ in range(20):
        response = await browser.request(method, url, data=data)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            method, data = "GET", None
            if stop_at and url.startswith(stop_at):
                return Stop(url, dict(parse_qsl(urlsplit(url).query)))
            continue
        parser = _Forms()
        parser.feed(response.text if "html" in response.headers.get("content-type", "") else "")
        if response.status_code != 200 or not parser.forms:
            return Stop(url, {}, response)
        action, fields = parser.forms[0]
        if fields.get("prompt") == "login":
            if abort:
                url, method, data = f"{url.rstrip('/')}/abort", "GET", None
                continue
            fields.update(login=account, password="any")
        url, method, data = urljoin(url, action), "POST", fields
        if stop_at and url.startswith(stop_at):
            return Stop(url, fields)
    raise AssertionError(f"no end to the redirects at {url}")


async def callback_params(
    client: OidcClient, op: OidcTestProvider, account: str = "alice"
) -> tuple[PendingLogin, dict[str, str]]:
    """A login begun with ``client`` and driven through the provider, up to the callback."""
    url, pending = await client.begin("test", op.callback())
    async with httpx.AsyncClient(timeout=10) as browser:
        stop = await browse(browser, url, account, stop_at=op.callback())
    assert stop.response is None, stop.response and stop.response.text
    return pending, stop.params


# --- the whole flow through the routes -------------------------------------------------------


@pytest.mark.parametrize(
    "account",
    [("alice", "alice@example.test", True), ("bob", "bob@example.test", False)],
    ids=["email-verified", "email-unverified"],
)
async def test_login_through_the_routes(
    app: App, client: OidcClient, oidc_provider: OidcTestProvider, account: tuple[str, str, bool]
) -> None:
    subject, email, verified = account
    listed = (await app.browser.get(f"{APP_ORIGIN}/api/auth/oidc/providers")).json()
    assert [p["name"] for p in listed["providers"]] == ["test", "testpost"]
    assert listed["providers"][0]["display_name"] == "Test IdP"

    stop = await browse(app.browser, f"{APP_ORIGIN}/api/auth/oidc/test/start", subject)

    assert stop.response is not None and stop.response.status_code == 200, stop.response
    assert stop.response.json() == {"access_token": f"token-for-{subject}", "token_type": "Bearer"}
    assert stop.response.headers["cache-control"] == "no-store"
    [identity] = app.identities
    assert (identity.provider, identity.subject) == ("test", subject)
    assert (identity.email, identity.email_verified) == (email, verified)
    assert identity.name is not None and identity.claims["iss"] == oidc_provider.issuer
    assert not app.browser.cookies.get("reelbox_oidc_test")  # the pending login is spent
    stats = client.statistics()
    assert (stats.logins_started, stats.logins_finished, stats.logins_failed) == (1, 1, 0)


async def test_form_post_callback(app: App) -> None:
    """Apple's way: the provider POSTs the code to the callback from an auto-submitted form."""
    stop = await browse(app.browser, f"{APP_ORIGIN}/api/auth/oidc/testpost/start")
    assert stop.response is not None and stop.response.status_code == 200, stop.response.text
    assert stop.url.endswith("/testpost/callback")
    assert app.identities[0].subject == "alice"


async def test_redirect_to_the_client_app_carries_tokens_in_the_fragment(app: App) -> None:
    start = f"{APP_ORIGIN}/api/auth/oidc/test/start?redirect=reelbox://auth/done"
    stop = await browse(app.browser, start, stop_at="reelbox://auth/done")
    fragment = dict(parse_qsl(urlsplit(stop.url).fragment))
    assert fragment == {"access_token": "token-for-alice", "token_type": "Bearer"}


async def test_a_failed_login_redirects_with_the_error_in_the_fragment(app: App) -> None:
    start = f"{APP_ORIGIN}/api/auth/oidc/test/start?redirect=/app/"
    stop = await browse(app.browser, start, stop_at=f"{APP_ORIGIN}/app/", abort=True)
    fragment = dict(parse_qsl(urlsplit(stop.url).fragment))
    assert fragment["error"] == "oidc_login_denied"
    assert "access_denied" in fragment["error_description"]


async def test_the_user_refusing_at_the_provider_is_401(app: App) -> None:
    stop = await browse(app.browser, f"{APP_ORIGIN}/api/auth/oidc/test/start", abort=True)
    assert stop.response is not None and stop.response.status_code == 401
    assert stop.response.json()["error"]["code"] == "oidc_login_denied"
    assert not app.identities


async def test_a_foreign_redirect_is_refused(app: App) -> None:
    response = await app.browser.get(
        f"{APP_ORIGIN}/api/auth/oidc/test/start", params={"redirect": "https://evil.test/"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oidc_redirect_refused"


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("/web/after-login", True),
        ("//evil.test/x", False),
        ("/\\evil.test", False),
        ("/\t/evil.test", False),
        ("/ok\n", False),
        ("https://app.test/web/x", True),
        ("https://app.test/webby", False),
        ("https://app.test/done", False),
        ("https://app.test.evil.test/", False),
        ("http://app.test/done", False),
        ("reelbox://auth/done", True),
        ("reelbox://other", False),
        ("javascript:alert(1)", False),
    ],
)
def test_redirect_allowed(target: str, allowed: bool) -> None:
    assert redirect_allowed(target, ["https://app.test/web/", "reelbox://auth"]) is allowed


async def test_unknown_provider_is_404(app: App) -> None:
    response = await app.browser.get(f"{APP_ORIGIN}/api/auth/oidc/nope/start")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "oidc_unknown_provider"


# --- what an attacker might try --------------------------------------------------------------


async def test_a_wrong_state_is_400(app: App, client: OidcClient) -> None:
    callback = f"{APP_ORIGIN}/api/auth/oidc/test/callback"
    stop = await browse(app.browser, f"{APP_ORIGIN}/api/auth/oidc/test/start", stop_at=callback)
    params = {**stop.params, "state": stop.params["state"][:-2] + "xx"}

    response = await app.browser.get(callback, params=params)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "oidc_state_mismatch",
        "message": "the callback's state is not the one this login was started with",
    }
    assert not app.identities and client.statistics().logins_failed == 1


async def test_a_callback_without_its_cookie_is_400(app: App) -> None:
    response = await app.browser.get(
        f"{APP_ORIGIN}/api/auth/oidc/test/callback", params={"code": "x", "state": "y"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oidc_login_expired"


async def test_a_callback_from_another_issuer_is_refused(
    client: OidcClient, oidc_provider: OidcTestProvider
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    assert params["iss"] == oidc_provider.issuer  # RFC 9207, sent by this provider
    with pytest.raises(StateMismatch, match="comes from"):
        await client.finish(pending, {**params, "iss": "https://evil.test"})


async def test_a_replayed_code_is_rejected(
    client: OidcClient, oidc_provider: OidcTestProvider
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    identity = await client.finish(pending, params)
    assert identity.subject == "alice"
    with pytest.raises(CodeRejected, match="rejected the code"):
        await client.finish(pending, params)


async def test_a_wrong_code_verifier_is_rejected(
    client: OidcClient, oidc_provider: OidcTestProvider
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    with pytest.raises(CodeRejected):
        await client.finish(replace(pending, code_verifier="x" * 64), params)


async def test_a_wrong_nonce_is_refused(
    client: OidcClient, oidc_provider: OidcTestProvider
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    with pytest.raises(NonceMismatch):
        await client.finish(replace(pending, nonce="another-login"), params)


async def test_an_expired_id_token_is_refused(
    client: OidcClient, oidc_provider: OidcTestProvider, clock: Clock
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    clock.offset = 2 * 3600.0  # the ID token lives an hour
    with pytest.raises(TokenInvalid, match="'exp'"):
        await client.finish(pending, params)


async def provider_kid(http: httpx.AsyncClient, op: OidcTestProvider) -> str:
    jwks = (await http.get(f"{op.issuer}/jwks")).json()
    kid: str = jwks["keys"][0]["kid"]
    return kid


def forged_id_token(op: OidcTestProvider, kid: str, now: float, nonce: str) -> str:
    claims = {
        "iss": op.issuer,
        "sub": "alice",
        "aud": op.client_id,
        "iat": int(now),
        "exp": int(now) + 600,
        "nonce": nonce,
        "email": "alice@example.test",
        "email_verified": True,
    }
    foreign = RSAKey.generate_key(2048)
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, foreign)


async def test_a_token_signed_with_another_key_is_refused(
    client: OidcClient, oidc_provider: OidcTestProvider, http: httpx.AsyncClient, clock: Clock
) -> None:
    kid = await provider_kid(http, oidc_provider)
    token = forged_id_token(oidc_provider, kid, clock(), "n")
    with pytest.raises(TokenInvalid, match="signature"):
        await client.verify_id_token("test", token, nonce="n")


async def test_an_unknown_kid_refetches_the_jwks_once_then_fails(
    client: OidcClient, oidc_provider: OidcTestProvider, clock: Clock
) -> None:
    pending, params = await callback_params(client, oidc_provider)
    await client.finish(pending, params)
    assert client.statistics().jwks_fetches == 1
    clock.offset = 60.0  # past the refetch cooldown, well within the JWKS cache's lifetime
    token = forged_id_token(oidc_provider, "rotated-key", clock(), "n")

    with pytest.raises(TokenInvalid, match="does not publish: rotated-key"):
        await client.verify_id_token("test", token, nonce="n")
    assert client.statistics().jwks_fetches == 2
    # Forged kids cannot make the server hammer the provider: no refetch within the cooldown.
    with pytest.raises(TokenInvalid, match="does not publish"):
        await client.verify_id_token("test", token, nonce="n")
    assert client.statistics().jwks_fetches == 2


async def test_a_sealed_login_that_was_tampered_with_or_expired_is_refused(
    client: OidcClient, oidc_provider: OidcTestProvider, http: httpx.AsyncClient, clock: Clock
) -> None:
    _, pending = await client.begin("test", oidc_provider.callback(), return_to="/after")
    sealed = client.seal(pending)
    assert client.unseal(sealed) == pending
    assert pending.code_verifier not in sealed and pending.nonce not in sealed

    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    with pytest.raises(PendingLoginInvalid, match="altered"):
        client.unseal(flipped)
    other_server = OidcClient(providers(oidc_provider), http, b"another secret", clock=clock)
    with pytest.raises(PendingLoginInvalid, match="altered"):
        other_server.unseal(sealed)
    with pytest.raises(PendingLoginInvalid, match="missing"):
        client.unseal(None)
    clock.offset = client.pending_max_age_s + 1
    with pytest.raises(PendingLoginInvalid, match="too long"):
        client.unseal(sealed)


async def test_an_unreachable_provider_is_502(http: httpx.AsyncClient) -> None:
    down = OidcProvider.generic("down", f"http://127.0.0.1:{free_port()}", "id", "secret")
    client = OidcClient([down], http, SECRET)
    with pytest.raises(ProviderUnavailable, match="did not answer"):
        await client.begin("down", "http://reelbox.test/cb")

    async def complete(identity: OidcIdentity) -> Mapping[str, Any]:
        raise AssertionError("unreachable")

    quart = Quart(__name__)
    quart.register_blueprint(oidc_routes(client, complete))
    response = await quart.test_client().get("/api/auth/oidc/down/start")
    assert response.status_code == 502
    assert (await response.get_json())["error"]["code"] == "oidc_provider_unavailable"


async def test_login_denied_is_typed(client: OidcClient, oidc_provider: OidcTestProvider) -> None:
    _, pending = await client.begin("test", oidc_provider.callback())
    params = {"state": pending.state, "error": "access_denied", "error_description": "no"}
    with pytest.raises(LoginDenied, match=r"refused the login \(access_denied\): no"):
        await client.finish(pending, params)


# --- presets ---------------------------------------------------------------------------------


def test_google_and_apple_presets() -> None:
    google = OidcProvider.google("gid", "gsecret")
    assert google.issuer == "https://accounts.google.com"
    assert "accounts.google.com" in google.issuers
    key = ECKey.generate_key("P-256")
    apple = OidcProvider.apple(
        "com.example.reelbox",
        AppleSigningKey("TEAM123456", "KEY1234567", key.as_pem(private=True).decode()),
    )
    assert (apple.issuer, apple.response_mode, apple.client_auth) == (
        "https://appleid.apple.com",
        "form_post",
        "client_secret_post",
    )
    assert apple.apple_key is not None
    with pytest.raises(ValueError, match="provider name"):
        OidcProvider.generic("Bad Name", "https://idp.test", "id")


def test_apple_client_secret_is_an_es256_jwt_from_the_team_key() -> None:
    key = ECKey.generate_key("P-256")
    signing = AppleSigningKey("TEAM123456", "KEY1234567", key.as_pem(private=True).decode())
    secret = apple_client_secret("com.example.reelbox", signing, now=1_800_000_000)
    token = jwt.decode(secret, ECKey.import_key(key.as_pem(private=False)), algorithms=["ES256"])
    assert (token.header["alg"], token.header["kid"]) == ("ES256", "KEY1234567")
    assert token.claims == {
        "iss": "TEAM123456",
        "iat": 1_800_000_000,
        "exp": 1_800_003_600,
        "aud": "https://appleid.apple.com",
        "sub": "com.example.reelbox",
    }
