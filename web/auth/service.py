"""``Auth``: what the routes and the OIDC login ask of authentication.

Login sessions. A password (or OIDC, or invite) login creates a session: a row in ``sessions``
named by the SHA-256 of its first refresh token (the ``sid`` of its access tokens), the refresh
token's hash in ``refresh_tokens``, and an entry in the ``SessionStore`` (Redis in a cluster, in
process on one node). Every access token is checked against the store, so a logout or "log out
everywhere" refuses the session's tokens on the next request on every node. A store miss (a
restart, an eviction, Redis away) falls back to the database, the record, and re-puts; the store
holds an entry for at most ``STORE_TTL`` so even a lost revocation heals by itself.

Refresh rotates: the presented refresh token is marked rotated and a new one issued. Presenting a
rotated token again is reuse (a stolen token, or a client that lost the answer): the whole session
is revoked. The update that marks a token rotated is the claim, so of two concurrent refreshes
with one token exactly one wins and the other revokes.

Login attempts (password logins, HTTP Basic, invite acceptance) count against a per-address and a
per-account limit (``RateLimiter``, GCRA); past either the answer is 429 with Retry-After. A wrong
username and a wrong password get the same answer after the same argon2 work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from ingest.catalog import auth as queries
from ingest.catalog import users as user_queries
from ingest.catalog.auth import ApiKeyRecord, InviteRecord, SessionRecord
from ingest.catalog.database import Database
from ingest.catalog.records import User
from ingest.state.ports import LoginSession, RateLimiter, SessionStore, StateUnavailable
from web.auth import (
    AuthNotFound,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidRequest,
    InvalidToken,
    InviteUnusable,
    RateLimited,
    SessionRevoked,
    Unauthorized,
)
from web.auth.keys import Clock, KeyRing, KeyRingStatistics, utcnow
from web.auth.passwords import MAX_LENGTH, Passwords, password_problem
from web.auth.principal import Method, Principal
from web.auth.tokens import IssuedToken, TokenCodec, digest, new_secret
from web.settings import AuthSettings

log = structlog.get_logger(__name__)

REFRESH_PREFIX = "rbr_"
API_KEY_PREFIX = "rbk_"
STORE_TTL = timedelta(hours=1)
BASIC_CACHE_TTL = timedelta(seconds=60)
KEY_TOUCH_EVERY = timedelta(seconds=60)
PRUNE_EVERY = timedelta(hours=1)
REUSE_MEMORY = timedelta(days=7)  # how long a rotated refresh token is remembered
USERNAME = re.compile(r"^[\w.@+-]{1,128}$")


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or refresh answers."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: str
    principal: Principal
    user: User


@dataclass(frozen=True, slots=True)
class AuthStatistics:
    logins: int
    login_failures: int
    rate_limited: int
    refreshes: int
    reuse_detected: int  # sessions revoked because a rotated refresh token came back
    revoked_sessions: int
    keys: KeyRingStatistics


class Auth:
    def __init__(
        self,
        database: Database,
        store: SessionStore,
        limiter: RateLimiter,
        settings: AuthSettings | None = None,
        *,
        passwords: Passwords | None = None,
        keys: KeyRing | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings = settings or AuthSettings()
        self._db = database
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self.passwords = passwords or Passwords.configured(settings)
        reload_s = 60.0
        self.keys = keys or KeyRing(
            database,
            rotation_s=settings.key_rotation_s,
            # A superseded key verifies as long as the longest token it may have signed lives.
            retain_s=max(settings.access_ttl_s, settings.stream_ttl_s)
            + settings.leeway_s
            + reload_s,
            reload_s=reload_s,
            clock=clock,
        )
        self.tokens = TokenCodec(
            self.keys,
            issuer=settings.issuer,
            audience=settings.audience,
            access_ttl_s=settings.access_ttl_s,
            stream_ttl_s=settings.stream_ttl_s,
            leeway_s=settings.leeway_s,
            clock=clock,
        )
        self._refresh_ttl = timedelta(seconds=settings.refresh_ttl_s)
        self._basic_cache: dict[str, tuple[datetime, Principal]] = {}
        self._pruned_at: datetime | None = None
        self._logins = self._failures = self._limited = 0
        self._refreshes = self._reuse = self._revoked = 0

    # --- passwords and logins -------------------------------------------------------------------

    async def hash_password(self, password: str) -> str:
        return await self.passwords.hash(password)

    async def check_password(
        self, username: str, password: str, *, addr: str, scheme: str = "Bearer"
    ) -> User:
        """The user whose password this is; ``InvalidCredentials`` (the same for an unknown user
        and a wrong password), ``RateLimited``, or ``Forbidden`` for a disabled account."""
        account = f"login:account:{username.casefold()[:160]}"
        await self._limit(f"login:address:{addr}", self.settings.login_attempts_per_address)
        await self._limit(account, self.settings.login_attempts_per_account)
        user = None
        if len(username) <= 128 and len(password) <= MAX_LENGTH:
            async with self._db.connect() as conn:
                user = await user_queries.get_user_by_username(conn, username)
        hashed = user.password_hash if user is not None else None
        if not await self.passwords.verify(hashed, password) or user is None or hashed is None:
            self._failures += 1
            log.info("auth.login_failed", username=username[:128], addr=addr)
            raise InvalidCredentials(scheme=scheme)
        if user.disabled:
            raise Forbidden("this account is disabled")
        await self._limiter.reset(account)
        if self.passwords.needs_rehash(hashed):
            rehashed = await self.passwords.hash(password)
            async with self._db.begin() as conn:
                await user_queries.set_password_hash(conn, user.id, rehashed)
            user = replace(user, password_hash=rehashed)
        return user

    async def login(
        self,
        username: str,
        password: str,
        *,
        addr: str,
        device: str | None = None,
        client: str | None = None,
    ) -> TokenPair:
        user = await self.check_password(username, password, addr=addr)
        return await self.issue_for_user(user, device, client=client)

    async def issue_for_user(
        self, user: User, device: str | None = None, *, client: str | None = None
    ) -> TokenPair:
        """A new login session for ``user`` (after a password, OIDC or invite login)."""
        if user.disabled:
            raise Forbidden("this account is disabled")
        now = self._clock()
        refresh = new_secret(REFRESH_PREFIX)
        session_id = digest(refresh)
        expires = now + self._refresh_ttl
        async with self._db.begin() as conn:
            record = await queries.create_session(
                conn,
                session_id,
                user.id,
                device_name=_trim(device),
                client=_trim(client),
                created_at=now,
                expires_at=expires,
            )
            await queries.add_refresh_token(conn, session_id, session_id, now)
            libraries = await user_queries.visible_libraries(conn, user)
        await self._maybe_prune(now)
        await self._put(record)
        self._logins += 1
        log.info("auth.login", user_id=user.id, session=session_id[:12])
        principal = _principal(user, libraries, "bearer", session_id)
        access = await self.tokens.issue_access(principal)
        return TokenPair(
            access.token, access.expires_at, refresh, expires, session_id, principal, user
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        """New tokens for a refresh token, which is used up; reuse revokes the session."""
        now = self._clock()
        presented = digest(refresh_token)
        revoke: str | None = None
        async with self._db.begin() as conn:
            # The write comes first: it is the claim, and SQLite then holds the write lock.
            claimed = await queries.mark_refresh_token_rotated(conn, presented, now)
            token = await queries.get_refresh_token(conn, presented)
            session = await queries.get_session(conn, token.session_id, now) if token else None
            user = await user_queries.get_user(conn, session.user_id) if session else None
            if token is None:
                raise InvalidToken("unknown refresh token")
            if session is None or user is None:
                raise SessionRevoked()
            if not claimed or user.disabled:
                await queries.delete_session(conn, session.id)
                revoke = session.id
            else:
                refresh = new_secret(REFRESH_PREFIX)
                expires = now + self._refresh_ttl
                await queries.add_refresh_token(conn, digest(refresh), session.id, now)
                await queries.touch_session(conn, session.id, last_seen_at=now, expires_at=expires)
                libraries = await user_queries.visible_libraries(conn, user)
        if revoke is not None:
            await self._store.revoke(revoke)
            self._revoked += 1
            if user.disabled:
                raise Forbidden("this account is disabled")
            self._reuse += 1
            log.warning("auth.refresh_reused", user_id=user.id, session=revoke[:12])
            raise SessionRevoked("this refresh token was used before: the session is revoked")
        assert session is not None
        await self._put(replace(session, expires_at=expires, last_seen_at=now))
        self._refreshes += 1
        principal = _principal(user, libraries, "bearer", session.id)
        access = await self.tokens.issue_access(principal)
        return TokenPair(
            access.token, access.expires_at, refresh, expires, session.id, principal, user
        )

    # --- sessions -------------------------------------------------------------------------------

    async def logout(self, session_id: str) -> bool:
        """Revoke one session at once, on every node; False when it was not (or no longer) live."""
        async with self._db.begin() as conn:
            found = await queries.delete_session(conn, session_id)
        await self._store.revoke(session_id)
        self._revoked += found
        return found

    async def logout_refresh_token(self, refresh_token: str) -> bool:
        """Revoke the session a refresh token (current or rotated) belongs to."""
        async with self._db.connect() as conn:
            token = await queries.get_refresh_token(conn, digest(refresh_token))
        if token is None:
            return False
        return await self.logout(token.session_id)

    async def logout_all(self, user_id: int) -> int:
        """Revoke every session of a user ("log out everywhere"); how many there were."""
        async with self._db.begin() as conn:
            ended = await queries.delete_user_sessions(conn, user_id)
        await self._store.revoke_user(user_id)
        self._basic_cache = {k: v for k, v in self._basic_cache.items() if v[1].user_id != user_id}
        self._revoked += len(ended)
        log.info("auth.logout_all", user_id=user_id, sessions=len(ended))
        return len(ended)

    async def sessions(self, user_id: int) -> list[SessionRecord]:
        async with self._db.connect() as conn:
            return await queries.list_sessions(conn, user_id, self._clock())

    async def end_session(self, user_id: int, session_id: str) -> None:
        """Revoke one of ``user_id``'s own sessions; ``AuthNotFound`` for anyone else's."""
        async with self._db.connect() as conn:
            session = await queries.get_session(conn, session_id, self._clock())
        if session is None or session.user_id != user_id:
            raise AuthNotFound("no such session")
        await self.logout(session_id)

    # --- principals from credentials ------------------------------------------------------------

    async def principal_for_access_token(self, token: str) -> Principal:
        principal = await self.tokens.verify_access(token)
        assert principal.session_id is not None
        if not await self._session_alive(principal.session_id, principal.user_id):
            raise SessionRevoked()
        return principal

    async def principal_for_stream_token(self, token: str) -> Principal:
        principal = await self.tokens.verify_stream(token)
        sid = principal.session_id
        if sid is not None and not await self._session_alive(sid, principal.user_id):
            raise SessionRevoked()
        return principal

    async def principal_for_password(
        self, username: str, password: str, *, addr: str, method: Method = "basic"
    ) -> Principal:
        """HTTP Basic: a principal per request. A success is remembered for a minute (per node),
        so a script's requests cost one argon2 verification a minute, not one each."""
        if not self.settings.basic:
            raise Unauthorized("HTTP Basic authentication is turned off", scheme="Bearer")
        now = self._clock()
        key = digest(f"{username}\0{password}")
        cached = self._basic_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = await self.check_password(username, password, addr=addr, scheme="Basic")
        async with self._db.connect() as conn:
            libraries = await user_queries.visible_libraries(conn, user)
        principal = _principal(user, libraries, method, None)
        if len(self._basic_cache) > 1024:
            self._basic_cache = {k: v for k, v in self._basic_cache.items() if v[0] > now}
        self._basic_cache[key] = (now + BASIC_CACHE_TTL, principal)
        return principal

    async def principal_for_api_key(self, key: str) -> Principal:
        if not key.startswith(API_KEY_PREFIX):
            raise InvalidToken("unknown API key")
        now = self._clock()
        async with self._db.connect() as conn:
            record = await queries.get_api_key_by_hash(conn, digest(key))
            user = await user_queries.get_user(conn, record.user_id) if record else None
            if record is None or user is None:
                raise InvalidToken("unknown or revoked API key")
            if user.disabled:
                raise Forbidden("this account is disabled")
            libraries = await user_queries.visible_libraries(conn, user)
        if record.last_used_at is None or now - record.last_used_at >= KEY_TOUCH_EVERY:
            async with self._db.begin() as conn:
                await queries.touch_api_key(conn, record.id, now)
        return _principal(user, libraries, "api_key", None)

    async def stream_token(
        self, principal: Principal, playback_session: str, *, ttl_s: float | None = None
    ) -> IssuedToken:
        """A token for ``?token=`` in the URLs of one playback session (playlists, segments).
        It carries the login session, so a logout ends it too."""
        if principal.method == "stream":
            raise Forbidden("a stream token cannot mint another")
        return await self.tokens.issue_stream(principal, playback_session, ttl_s=ttl_s)

    # --- OpenID Connect -------------------------------------------------------------------------

    async def login_external(
        self,
        provider: str,
        subject: str,
        email: str | None,
        email_verified: bool,
        display_name: str | None,
        *,
        role: str = "member",
        all_libraries: bool = False,
    ) -> User:
        """The user an external identity logs in as. Known (provider, subject): that user. Else a
        verified email of a local account links that account; else a new user (with ``role``;
        libraries: all when ``all_libraries``, none until an admin grants some otherwise)."""
        async with self._db.begin() as conn:
            user = await user_queries.get_user_by_subject(conn, provider, subject)
            if user is not None:
                return _enabled(user)
            holder = await user_queries.get_user_by_email(conn, email) if email else None
            if holder is not None and email_verified:
                if holder.subject is not None:
                    raise Conflict(
                        "an account with this email is linked to another sign-in already"
                    )
                linked = await user_queries.update_user(
                    conn, holder.id, provider=provider, subject=subject, email_verified=True
                )
                assert linked is not None
                log.info("auth.linked", user_id=holder.id, provider=provider)
                return _enabled(linked)
            username = await user_queries.free_username(
                conn, *(n for n in (email and email.split("@")[0], display_name) if n), provider
            )
            created = await user_queries.create_user(
                conn,
                username,
                roles=[role],
                email=email if holder is None else None,
                email_verified=email_verified and holder is None,
                display_name=display_name,
                provider=provider,
                subject=subject,
                settings={user_queries.ALL_LIBRARIES: True} if all_libraries else {},
            )
        log.info("auth.user_created", user_id=created.id, provider=provider)
        return created

    # --- API keys -------------------------------------------------------------------------------

    async def create_api_key(self, user_id: int, name: str) -> tuple[ApiKeyRecord, str]:
        """A new key for ``user_id``: its record and the key itself, shown this once."""
        secret = new_secret(API_KEY_PREFIX)
        async with self._db.begin() as conn:
            record = await queries.create_api_key(
                conn,
                user_id,
                name,
                key_hash=digest(secret),
                prefix=secret[:12],
                created_at=self._clock(),
            )
        return record, secret

    async def api_keys(self, user_id: int) -> list[ApiKeyRecord]:
        async with self._db.connect() as conn:
            return await queries.list_api_keys(conn, user_id)

    async def revoke_api_key(self, user_id: int, key_id: int) -> None:
        async with self._db.begin() as conn:
            if not await queries.revoke_api_key(conn, key_id, user_id, self._clock()):
                raise AuthNotFound("no such API key")

    # --- invites --------------------------------------------------------------------------------

    async def create_invite(
        self,
        created_by: int | None,
        *,
        role: str = "member",
        library_ids: list[int] | None = None,
        max_parental_rating: int | None = None,
        ttl_s: float | None = None,
    ) -> tuple[InviteRecord, str]:
        """An invite: its record and the code, shown this once. ``library_ids`` None: all."""
        if role not in user_queries.ROLES:
            raise InvalidRequest(f"role is one of {', '.join(user_queries.ROLES)}", field="role")
        now = self._clock()
        code = new_secret(nbytes=18)
        ttl = timedelta(seconds=self.settings.invite_ttl_s if ttl_s is None else ttl_s)
        async with self._db.begin() as conn:
            record = await queries.create_invite(
                conn,
                code_hash=digest(code),
                role=role,
                library_ids=library_ids,
                max_parental_rating=max_parental_rating,
                expires_at=now + ttl,
                created_by=created_by,
                created_at=now,
            )
        return record, code

    async def invites(self) -> list[InviteRecord]:
        async with self._db.connect() as conn:
            return await queries.list_invites(conn)

    async def revoke_invite(self, invite_id: int) -> None:
        async with self._db.begin() as conn:
            if not await queries.delete_invite(conn, invite_id):
                raise AuthNotFound("no such invite")

    async def accept_invite(
        self,
        code: str,
        username: str,
        password: str,
        *,
        addr: str,
        device: str | None = None,
        client: str | None = None,
    ) -> TokenPair:
        """Create the invited user with a password and log them in."""
        if not USERNAME.match(username):
            raise InvalidRequest(
                "a username is 1 to 128 letters, digits or . _ - @ +", field="username"
            )
        problem = password_problem(password)
        if problem is not None:
            raise InvalidRequest(problem, field="password")
        await self._limit(f"invite:address:{addr}", self.settings.login_attempts_per_address)
        hashed = await self.passwords.hash(password)
        now = self._clock()
        code_hash = digest(code)
        async with self._db.begin() as conn:
            invite = await queries.claim_invite(conn, code_hash, now)
            if invite is None:
                raise InviteUnusable(
                    _why_unusable(await queries.get_invite_by_hash(conn, code_hash))
                )
            if await user_queries.get_user_by_username(conn, username) is not None:
                raise Conflict("this username is taken", field="username")
            user = await user_queries.create_user(
                conn,
                username,
                roles=[invite.role],
                password_hash=hashed,
                settings={user_queries.ALL_LIBRARIES: True} if invite.library_ids is None else {},
                max_parental_rating=invite.max_parental_rating,
            )
            if invite.library_ids is not None:
                await user_queries.set_library_access(conn, user.id, invite.library_ids)
            await queries.set_invite_user(conn, invite.id, user.id)
        log.info("auth.invite_accepted", user_id=user.id, invite=invite.id, role=invite.role)
        return await self.issue_for_user(user, device, client=client)

    # --- users ----------------------------------------------------------------------------------

    async def user(self, user_id: int) -> User:
        async with self._db.connect() as conn:
            user = await user_queries.get_user(conn, user_id)
        if user is None:
            raise AuthNotFound("no such user")
        return user

    def statistics(self) -> AuthStatistics:
        return AuthStatistics(
            logins=self._logins,
            login_failures=self._failures,
            rate_limited=self._limited,
            refreshes=self._refreshes,
            reuse_detected=self._reuse,
            revoked_sessions=self._revoked,
            keys=self.keys.statistics(),
        )

    # --- internals ------------------------------------------------------------------------------

    async def _limit(self, key: str, limit: int) -> None:
        wait = await self._limiter.hit(key, limit=limit, window_s=self.settings.login_window_s)
        if wait > 0:
            self._limited += 1
            raise RateLimited("too many login attempts; try again later", retry_after=wait)

    async def _session_alive(self, session_id: str, user_id: int) -> bool:
        degraded = False
        try:
            stored = await self._store.get(session_id)
        except StateUnavailable:
            stored, degraded = None, True  # the database decides alone, slower but right
        if stored is not None:
            return stored.user_id == user_id
        now = self._clock()
        async with self._db.connect() as conn:
            record = await queries.get_session(conn, session_id, now)
        if record is None or record.user_id != user_id:
            return False
        if not degraded:
            await self._put(record)
            # A logout between the read above and the put would be undone by the put: look again.
            async with self._db.connect() as conn:
                if await queries.get_session(conn, session_id, now) is None:
                    await self._store.revoke(session_id)
                    return False
        return True

    async def _put(self, record: SessionRecord) -> None:
        expires = min(record.expires_at, self._clock() + STORE_TTL)
        try:
            await self._store.put(
                LoginSession(
                    id=record.id,
                    user_id=record.user_id,
                    expires_at=expires,
                    device_name=record.device_name,
                    client=record.client,
                )
            )
        except StateUnavailable as exc:  # the next request finds the session in the database
            log.warning("auth.store_unavailable", error=str(exc))

    async def _maybe_prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with self._db.begin() as conn:
            await queries.delete_expired_sessions(conn, now)
            await queries.delete_rotated_refresh_tokens(conn, now - REUSE_MEMORY)


def _principal(
    user: User, libraries: frozenset[int] | None, method: Method, session_id: str | None
) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=frozenset(user.roles),
        max_parental_rating=user.max_parental_rating,
        library_ids=libraries,
        session_id=session_id,
        method=method,
    )


def _enabled(user: User) -> User:
    if user.disabled:
        raise Forbidden("this account is disabled")
    return user


def _trim(text: str | None, limit: int = 256) -> str | None:
    return text[:limit] if text else None


def _why_unusable(invite: InviteRecord | None) -> str:
    if invite is None:
        return "no such invite: check the code"
    if invite.used_at is not None:
        return "this invite has been used already"
    return "this invite has expired"
