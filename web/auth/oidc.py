"""OpenID Connect login: authorization code + PKCE (S256), state and nonce, ID tokens verified
against the provider's JWKS. Providers are configured by issuer URL and client credentials
(presets for Google and Apple, any other OpenID provider by its issuer).

A login is two requests. ``begin`` returns the provider's authorization URL and a
``PendingLogin`` (state, nonce, PKCE verifier); the route seals it into a short-lived HttpOnly
cookie (AES-GCM under a key derived from the server secret, so any node can open it and nobody
can read or change it). ``finish`` takes it back with the callback's parameters, exchanges the
code, verifies the ID token and returns an ``OidcIdentity``; what a login then means (create the
user or link a verified email, issue Reelbox tokens) is the injected ``complete`` callable's
business. authlib does the protocol pieces (authorization URL, PKCE challenge, token request,
client authentication, ID token claims rules), joserfc the JOSE, httpx the transport (authlib's
own httpx integration warns on import that it wants httpx2; its sans-I/O pieces do not).

Errors, mapped to HTTP once, in ``web.auth.oidc_routes`` (``{"error": {"code", "message"}}``)::

    OidcError
    ├── UnknownProvider       404  no provider of that name is configured
    ├── CallbackInvalid       400  the callback belongs to no login this server started
    │   ├── PendingLoginInvalid      sealed login missing, tampered with, or expired
    │   └── StateMismatch            state differs, or the callback names another issuer
    ├── LoginDenied           401  the provider answered with an error (the user said no)
    ├── CodeRejected          401  invalid_grant: a replayed, expired or foreign code
    ├── NonceMismatch         401  the ID token was minted for another login
    ├── TokenInvalid          401  signature, unknown key, iss, aud, azp, exp, iat, userinfo sub
    └── ProviderUnavailable   502  unreachable, or answered something unusable
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import anyio
import httpx
from authlib.oauth2.auth import ClientAuth  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jws, jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import ECKey, Key, import_key

Clock = Callable[[], float]
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are never accepted.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
APPLE_AUDIENCE = "https://appleid.apple.com"
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class OidcError(Exception):
    """A login that cannot go on; the message says why, for the user and the log."""


class UnknownProvider(OidcError, LookupError):
    pass


class CallbackInvalid(OidcError):
    pass


class PendingLoginInvalid(CallbackInvalid):
    pass


class StateMismatch(CallbackInvalid):
    pass


class LoginDenied(OidcError):
    pass


class CodeRejected(OidcError):
    pass


class NonceMismatch(OidcError):
    pass


class TokenInvalid(OidcError):
    pass


class ProviderUnavailable(OidcError):
    pass


@dataclass(frozen=True, slots=True)
class AppleSigningKey:
    """Apple's client secret is an ES256 JWT signed with the team's key (a .p8 file)."""

    team_id: str
    key_id: str
    private_key: str  # PEM text of the .p8 file
    lifetime_s: int = 3600


@dataclass(frozen=True, slots=True)
class OidcProvider:
    name: str
    issuer: str
    client_id: str
    client_secret: str | None = None
    display_name: str = ""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # form_post: the provider POSTs the callback (Apple, when it is asked for name or email).
    response_mode: Literal["query", "form_post"] = "query"
    client_auth: Literal["client_secret_basic", "client_secret_post", "none"] = (
        "client_secret_basic"
    )
    # Other spellings of the issuer seen in ID tokens (Google also signs "accounts.google.com").
    extra_issuers: tuple[str, ...] = ()
    authorize_params: tuple[tuple[str, str], ...] = ()
    apple_key: AppleSigningKey | None = None

    def __post_init__(self) -> None:
        if not PROVIDER_NAME.fullmatch(self.name):
            raise ValueError(f"provider name {self.name!r}: use a-z, 0-9, '-' and '_' (URL part)")

    @property
    def issuers(self) -> tuple[str, ...]:
        return (self.issuer, *self.extra_issuers)

    @classmethod
    def google(cls, client_id: str, client_secret: str, *, name: str = "google") -> OidcProvider:
        return cls(
            name=name,
            issuer="https://accounts.google.com",
            client_id=client_id,
            client_secret=client_secret,
            display_name="Google",
            extra_issuers=("accounts.google.com",),
            authorize_params=(("prompt", "select_account"),),
        )

    @classmethod
    def apple(cls, client_id: str, key: AppleSigningKey, *, name: str = "apple") -> OidcProvider:
        """``client_id`` is the Services ID; the secret is minted from ``key`` per exchange."""
        return cls(
            name=name,
            issuer=APPLE_AUDIENCE,
            client_id=client_id,
            display_name="Apple",
            scopes=("openid", "email", "name"),
            response_mode="form_post",
            client_auth="client_secret_post",
            apple_key=key,
        )

    @classmethod
    def generic(
        cls,
        name: str,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        display_name: str | None = None,
        scopes: Sequence[str] = ("openid", "email", "profile"),
        client_auth: Literal[
            "client_secret_basic", "client_secret_post", "none"
        ] = "client_secret_basic",
    ) -> OidcProvider:
        return cls(
            name=name,
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            client_secret=client_secret,
            display_name=display_name or name,
            scopes=tuple(scopes),
            client_auth=client_auth if client_secret else "none",
        )


@dataclass(frozen=True, slots=True)
class PendingLogin:
    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: float
    return_to: str | None = None  # where the route sends the browser afterwards, if asked


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    claims: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: frozenset[str]


@dataclass(frozen=True, slots=True)
class OidcStatistics:
    discovery_fetches: int
    jwks_fetches: int
    logins_started: int
    logins_finished: int
    logins_failed: int


@dataclass(slots=True)
class _Cached:
    discovery: Discovery | None = None
    discovered_at: float = 0.0
    keys: dict[str, Key] = field(default_factory=dict)
    keys_at: float | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class OidcClient:
    """The relying party for every configured provider; one per server, shared by requests.

    ``http`` belongs to the caller (the composition root opens and closes it). ``secret`` keys
    the sealed pending logins and must be the same on every node. ``clock`` is wall-clock time
    in seconds: ID token times are wall-clock, and tests move it.
    """

    def __init__(
        self,
        providers: Iterable[OidcProvider],
        http: httpx.AsyncClient,
        secret: bytes,
        *,
        clock: Clock = time.time,
        leeway_s: int = 60,
        discovery_ttl_s: float = 3600.0,
        jwks_ttl_s: float = 3600.0,
        jwks_refetch_cooldown_s: float = 15.0,
        pending_max_age_s: float = 600.0,
    ) -> None:
        self._providers = {p.name: p for p in providers}
        self._http = http
        self._aead = AESGCM(hmac.digest(secret, b"reelbox/oidc/pending-login/v1", "sha256"))
        self._clock = clock
        self._leeway_s = leeway_s
        self._discovery_ttl_s = discovery_ttl_s
        self._jwks_ttl_s = jwks_ttl_s
        self._jwks_refetch_cooldown_s = jwks_refetch_cooldown_s
        self.pending_max_age_s = pending_max_age_s
        self._cache = {name: _Cached() for name in self._providers}
        self._counts = {f.name: 0 for f in fields(OidcStatistics)}

    @property
    def providers(self) -> Mapping[str, OidcProvider]:
        return self._providers

    def provider(self, name: str) -> OidcProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise UnknownProvider(f"no OpenID provider named {name!r} is configured") from None

    def statistics(self) -> OidcStatistics:
        return OidcStatistics(**self._counts)

    # --- the two halves of a login ---------------------------------------------------------

    async def begin(
        self, name: str, redirect_uri: str, *, return_to: str | None = None
    ) -> tuple[str, PendingLogin]:
        provider = self.provider(name)
        discovery = await self.discover(name)
        pending = PendingLogin(
            provider=name,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            created_at=self._clock(),
            return_to=return_to,
        )
        extra = dict(provider.authorize_params)
        if provider.response_mode != "query":
            extra["response_mode"] = provider.response_mode
        url = prepare_grant_uri(
            discovery.authorization_endpoint,
            provider.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(provider.scopes),
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
            **extra,
        )
        self._counts["logins_started"] += 1
        return str(url), pending

    async def finish(self, pending: PendingLogin, params: Mapping[str, str]) -> OidcIdentity:
        try:
            identity = await self._finish(pending, params)
        except OidcError:
            self._counts["logins_failed"] += 1
            raise
        self._counts["logins_finished"] += 1
        return identity

    async def _finish(self, pending: PendingLogin, params: Mapping[str, str]) -> OidcIdentity:
        provider = self.provider(pending.provider)
        state = params.get("state", "")
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise StateMismatch("the callback's state is not the one this login was started with")
        if "iss" in params and params["iss"] not in provider.issuers:  # RFC 9207: mix-up
            raise StateMismatch(f"the callback comes from {params['iss']!r}, not {provider.name}")
        if "error" in params:
            error, detail = params["error"], params.get("error_description") or ""
            who = provider.display_name or provider.name
            raise LoginDenied(f"{who} refused the login ({error}): {detail}".rstrip(": "))
        code = params.get("code")
        if not code:
            raise CodeRejected("the callback carries no authorization code")
        discovery = await self.discover(provider.name)
        tokens = await self._exchange(provider, discovery, pending, code)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderUnavailable(f"{provider.name} answered the code without an ID token")
        access_token = tokens.get("access_token")
        access_token = access_token if isinstance(access_token, str) else None
        claims = await self.verify_id_token(
            provider.name, id_token, nonce=pending.nonce, access_token=access_token
        )
        if "email" not in claims and discovery.userinfo_endpoint and access_token:
            claims = {**await self._userinfo(discovery, access_token, claims["sub"]), **claims}
        name = claims.get("name")
        if not name and provider.apple_key is not None:
            name = _apple_name(params.get("user"))  # sent once, unsigned: a display name only
        email = claims.get("email")
        return OidcIdentity(
            provider=provider.name,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            # Apple sends "true"/"false" strings.
            email_verified=claims.get("email_verified") in (True, "true"),
            name=name if isinstance(name, str) else None,
            claims=claims,
        )

    # --- provider metadata and keys -------------------------------------------------------

    async def discover(self, name: str) -> Discovery:
        provider = self.provider(name)
        cached = self._cache[name]
        async with cached.lock:
            now = self._clock()
            if cached.discovery and now - cached.discovered_at < self._discovery_ttl_s:
                return cached.discovery
            url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await self._get_json(url, provider.name)
            self._counts["discovery_fetches"] += 1
            try:
                discovery = Discovery(
                    issuer=document["issuer"],
                    authorization_endpoint=document["authorization_endpoint"],
                    token_endpoint=document["token_endpoint"],
                    jwks_uri=document["jwks_uri"],
                    userinfo_endpoint=document.get("userinfo_endpoint"),
                    algorithms=frozenset(document.get("id_token_signing_alg_values_supported", []))
                    & SIGNING_ALGORITHMS,
                )
            except (KeyError, TypeError) as exc:
                raise ProviderUnavailable(f"{name}'s discovery document lacks {exc}") from None
            if discovery.issuer not in provider.issuers:
                raise ProviderUnavailable(
                    f"{name}'s discovery names issuer {discovery.issuer!r}, not {provider.issuer!r}"
                )
            cached.discovery, cached.discovered_at = discovery, now
            return discovery

    async def _signing_key(self, name: str, kid: str | None) -> Key:
        """The key for ``kid``; an unknown kid refetches the JWKS once (the provider may have
        rotated), at most once per cooldown so forged kids cannot make us hammer the provider."""
        discovery = await self.discover(name)
        cached = self._cache[name]
        async with cached.lock:
            now = self._clock()
            stale = cached.keys_at is None or now - cached.keys_at >= self._jwks_ttl_s
            unknown = _pick(cached.keys, kid) is None
            may_refetch = cached.keys_at is None or now - cached.keys_at >= (
                self._jwks_refetch_cooldown_s
            )
            if stale or (unknown and may_refetch):
                cached.keys = await self._fetch_jwks(name, discovery.jwks_uri)
                cached.keys_at = now
            key = _pick(cached.keys, kid)
        if key is None:
            raise TokenInvalid(f"the ID token is signed with a key {name} does not publish: {kid}")
        return key

    async def _fetch_jwks(self, name: str, url: str) -> dict[str, Key]:
        document = await self._get_json(url, name)
        self._counts["jwks_fetches"] += 1
        keys: dict[str, Key] = {}
        for index, data in enumerate(document.get("keys") or []):
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                key = import_key(data)
            except (JoseError, ValueError, TypeError):
                continue  # a key type we cannot use; the others still count
            keys[key.kid or f"#{index}"] = key
        return keys

    async def verify_id_token(
        self, name: str, id_token: str, *, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times, azp, at_hash and
        nonce hold; TokenInvalid or NonceMismatch otherwise."""
        provider = self.provider(name)
        discovery = await self.discover(name)
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError) as exc:
            raise TokenInvalid(f"the ID token is not a signed JWT: {exc}") from None
        algorithms = discovery.algorithms or {"RS256"}
        if header.get("alg") not in algorithms:
            raise TokenInvalid(f"the ID token's algorithm {header.get('alg')!r} is not accepted")
        key = await self._signing_key(name, header.get("kid"))
        try:
            token = jwt.decode(id_token, key, algorithms=sorted(algorithms))
        except (JoseError, ValueError) as exc:
            raise TokenInvalid(f"the ID token's signature does not verify: {exc}") from None
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "values": list(provider.issuers)},
                "aud": {"essential": True, "value": provider.client_id},
            },
            params={"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
        )
        try:
            claims.validate(now=int(self._clock()), leeway=self._leeway_s)
        except ClaimError as exc:
            if exc.claim == "nonce":
                raise NonceMismatch("the ID token was issued for another login (nonce)") from None
            raise TokenInvalid(f"the ID token's {exc.claim!r} claim is wrong: {exc}") from None
        except JoseError as exc:
            raise TokenInvalid(f"the ID token is invalid: {exc}") from None
        return dict(claims)

    # --- HTTP -------------------------------------------------------------------------------

    async def _exchange(
        self, provider: OidcProvider, discovery: Discovery, pending: PendingLogin, code: str
    ) -> dict[str, Any]:
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        auth = ClientAuth(provider.client_id, self._client_secret(provider), provider.client_auth)
        url, headers, body = auth.prepare("POST", discovery.token_endpoint, headers, body)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{provider.name}'s token endpoint: {exc!r}") from None
        answer = _json_object(response)
        if response.status_code == 200 and answer is not None:
            return answer
        error = (answer or {}).get("error")
        detail = (answer or {}).get("error_description") or error or f"HTTP {response.status_code}"
        if error == "invalid_grant":
            raise CodeRejected(
                f"{provider.name} rejected the code (used, expired or not ours): {detail}"
            )
        raise ProviderUnavailable(f"{provider.name}'s token endpoint refused: {detail}")

    def _client_secret(self, provider: OidcProvider) -> str | None:
        if provider.apple_key is None:
            return provider.client_secret
        return apple_client_secret(provider.client_id, provider.apple_key, now=self._clock())

    async def _userinfo(
        self, discovery: Discovery, access_token: str, subject: str
    ) -> dict[str, Any]:
        assert discovery.userinfo_endpoint
        try:
            response = await self._http.get(
                discovery.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"userinfo endpoint: {exc!r}") from None
        info = _json_object(response)
        if response.status_code != 200 or info is None:
            raise ProviderUnavailable(f"userinfo endpoint answered HTTP {response.status_code}")
        if info.get("sub") != subject:  # OIDC core 5.3.2: never merge another user's claims
            raise TokenInvalid("the userinfo subject differs from the ID token's")
        return info

    async def _get_json(self, url: str, name: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{name} did not answer {url}: {exc!r}") from None
        document = _json_object(response)
        if response.status_code != 200 or document is None:
            raise ProviderUnavailable(f"{name} answered {url} with HTTP {response.status_code}")
        return document

    # --- the pending login, sealed for a cookie --------------------------------------------

    def seal(self, pending: PendingLogin) -> str:
        payload = json.dumps(
            [
                pending.provider,
                pending.state,
                pending.nonce,
                pending.code_verifier,
                pending.redirect_uri,
                pending.created_at,
                pending.return_to,
            ],
            separators=(",", ":"),
        ).encode()
        iv = secrets.token_bytes(12)
        return base64.urlsafe_b64encode(iv + self._aead.encrypt(iv, payload, b"oidc")).decode()

    def unseal(self, sealed: str | None) -> PendingLogin:
        if not sealed:
            raise PendingLoginInvalid("no login is in progress here (the cookie is missing)")
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            payload = json.loads(self._aead.decrypt(raw[:12], raw[12:], b"oidc"))
            pending = PendingLogin(*payload)
        except (InvalidTag, ValueError, TypeError):
            raise PendingLoginInvalid("the login cookie was altered or is not ours") from None
        age = self._clock() - pending.created_at
        if not -self._leeway_s <= age <= self.pending_max_age_s:
            raise PendingLoginInvalid("the login took too long; start it again")
        return pending


def apple_client_secret(client_id: str, key: AppleSigningKey, *, now: float) -> str:
    """The ES256 JWT Apple takes as client_secret (Sign in with Apple, token request)."""
    issued = int(now)
    claims = {
        "iss": key.team_id,
        "iat": issued,
        "exp": issued + key.lifetime_s,
        "aud": APPLE_AUDIENCE,
        "sub": client_id,
    }
    signing_key = ECKey.import_key(key.private_key)
    return jwt.encode({"alg": "ES256", "kid": key.key_id}, claims, signing_key)


def _pick(keys: Mapping[str, Key], kid: str | None) -> Key | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _apple_name(user: str | None) -> str | None:
    try:
        name = json.loads(user or "{}").get("name") or {}
        full = " ".join(filter(None, (name.get("firstName"), name.get("lastName"))))
    except (ValueError, AttributeError):
        return None
    return full or None


__all__ = [
    "AppleSigningKey",
    "CallbackInvalid",
    "CodeRejected",
    "Discovery",
    "LoginDenied",
    "NonceMismatch",
    "OidcClient",
    "OidcError",
    "OidcIdentity",
    "OidcProvider",
    "OidcStatistics",
    "PendingLogin",
    "PendingLoginInvalid",
    "ProviderUnavailable",
    "StateMismatch",
    "TokenInvalid",
    "UnknownProvider",
    "apple_client_secret",
]
