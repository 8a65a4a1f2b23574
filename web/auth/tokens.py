"""Tokens: short-lived access JWTs, stream tokens for segment URLs, and opaque secrets.

Access token: an EdDSA JWT with ``kid`` in its header and the claims ``sub`` (user id), ``sid``
(login session), ``roles``, ``name``, ``mpr`` (parental rating limit), ``libs`` (visible library
ids, null for all), ``iat``, ``exp``, ``iss``, ``aud``. Its claims are a snapshot of the user for
its short life; a refresh takes a fresh one. Verification accepts only ``alg`` EdDSA with a ``kid``
the key ring knows and still trusts, the configured issuer and audience, and ``exp`` with a leeway
(30 s by default) on an injectable clock; everything else is ``InvalidToken``/``TokenExpired``.

Stream token: the same kind of JWT with audience ``<aud>:stream`` and ``psid``, the one playback
session it opens, so it can ride in a segment URL (``?token=``) for players that cannot send
headers (hls.js without xhrSetup, AVPlayer, TVs); an access token is no stream token, nor the
other way round.

Refresh tokens, API keys and invite codes are opaque random strings (``new_secret``); only their
SHA-256 (``digest``) is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from web.auth import InvalidToken, TokenExpired
from web.auth.keys import ALGORITHM, Clock, KeyRing, utcnow
from web.auth.principal import Method, Principal

VERIFIED_TOKENS = 4096  # tokens whose signature was checked, remembered (a few MB at most)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenCodec:
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        access_ttl_s: float,
        stream_ttl_s: float,
        leeway_s: float = 30.0,
        clock: Clock = utcnow,
    ) -> None:
        self.keys = keys
        self._issuer = issuer
        self._audience = audience
        self._stream_audience = f"{audience}:stream"
        self._access_ttl = timedelta(seconds=access_ttl_s)
        self._stream_ttl = timedelta(seconds=stream_ttl_s)
        self._leeway = leeway_s
        self._clock = clock
        self._verified: OrderedDict[tuple[str, str], tuple[str, dict[str, Any]]] = OrderedDict()

    @property
    def access_ttl(self) -> timedelta:
        return self._access_ttl

    async def issue_access(self, who: Principal) -> IssuedToken:
        if who.session_id is None:
            raise ValueError("an access token belongs to a login session")
        return await self._issue(who, self._audience, self._access_ttl, {})

    async def issue_stream(
        self, who: Principal, playback_session: str, *, ttl_s: float | None = None
    ) -> IssuedToken:
        ttl = self._stream_ttl if ttl_s is None else timedelta(seconds=ttl_s)
        return await self._issue(
            who, self._stream_audience, min(ttl, self._stream_ttl), {"psid": playback_session}
        )

    async def verify_access(self, token: str) -> Principal:
        claims = await self._verify(token, self._audience, ("sid",))
        return _principal(claims, "bearer")

    async def verify_stream(self, token: str) -> Principal:
        claims = await self._verify(token, self._stream_audience, ("psid",))
        return _principal(claims, "stream")

    async def _issue(
        self, who: Principal, audience: str, ttl: timedelta, extra: dict[str, Any]
    ) -> IssuedToken:
        key = await self.keys.signing_key()
        now = self._clock()
        expires = now + ttl
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": audience,
            "sub": str(who.user_id),
            "name": who.username,
            "roles": sorted(who.roles),
            "mpr": who.max_parental_rating,
            "libs": None if who.library_ids is None else sorted(who.library_ids),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            **extra,
        }
        if who.session_id is not None:
            claims["sid"] = who.session_id
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedToken(token, datetime.fromtimestamp(claims["exp"], UTC))

    async def _verify(self, token: str, audience: str, required: tuple[str, ...]) -> dict[str, Any]:
        # The signature, issuer and audience checks are a pure function of the token and its
        # key: a token verified once is remembered (bounded), and only its key's standing (a
        # retired kid is refused at once) and its times are checked again. Every request of a
        # client carries the same access token, and an EdDSA verification costs more than the
        # rest of a cached API answer.
        remembered = self._verified.get((token, audience))
        if remembered is not None:
            kid, claims = remembered
            self._verified.move_to_end((token, audience))
            if await self.keys.verifying_key(kid) is None:
                raise InvalidToken("the token's signing key is unknown or retired")
        else:
            kid, claims = await self._check_signature(token, audience, required)
            self._verified[(token, audience)] = (kid, claims)
            while len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        now = self._clock().timestamp()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise InvalidToken("the token's exp and iat must be integers")
        if now > exp + self._leeway:
            raise TokenExpired()
        if iat > now + self._leeway:
            raise InvalidToken("the token was issued in the future")
        return claims

    async def _check_signature(
        self, token: str, audience: str, required: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"the token's algorithm is not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no signing key")
        public_key = await self.keys.verifying_key(kid)
        if public_key is None:
            raise InvalidToken("the token's signing key is unknown or retired")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self._issuer,
                # Times are checked by _verify, on the injected clock.
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud", *required],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token was refused: {exc}") from None
        return kid, claims


def _principal(claims: dict[str, Any], method: Method) -> Principal:
    try:
        libs = claims.get("libs")
        mpr = claims.get("mpr")
        sid = claims.get("sid")
        psid = claims.get("psid")
        return Principal(
            user_id=int(claims["sub"]),
            username=str(claims.get("name", "")),
            roles=frozenset(str(r) for r in claims.get("roles", ())),
            max_parental_rating=None if mpr is None else int(mpr),
            library_ids=None if libs is None else frozenset(int(i) for i in libs),
            session_id=None if sid is None else str(sid),
            method=method,
            playback_session=None if psid is None else str(psid),
        )
    except (TypeError, ValueError):
        raise InvalidToken("the token's claims are malformed") from None
