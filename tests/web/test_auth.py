"""Authentication on SQLite and PostgreSQL: passwords, access tokens and their keys, refresh
rotation, revocation seen by every node, API keys, invites, rate limits, stream tokens, external
(OIDC) identities. Real argon2 (cheap parameters), real Ed25519 keys, the in-process state
adapters; the clock is injected so expiry needs no sleeping.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ingest.catalog import auth as auth_queries
from ingest.catalog import libraries, users
from ingest.catalog.database import Database
from ingest.models import LibraryKind
from ingest.state import open_state
from ingest.state.memory import MemorySessionStore
from tests.fixtures.auth import PASSWORD, Clock, add_user, cheap_passwords, make_auth
from tests.fixtures.services import REDIS_URL, service_missing, tcp_answers
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
    TokenExpired,
)
from web.auth.service import Auth
from web.settings import AuthSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(database: Database, clock: Clock) -> Auth:
    return make_auth(database, clock=clock)


# --- passwords ----------------------------------------------------------------------------------


async def test_password_login_gives_tokens_that_name_the_user(
    database: Database, auth: Auth
) -> None:
    ann = await add_user(database, auth, "ann", role="admin")
    pair = await auth.login("ann", PASSWORD, addr="10.0.0.1", device="Ann's phone", client="t/1")
    assert pair.refresh_token.startswith("rbr_") and pair.access_token.count(".") == 2
    who = await auth.principal_for_access_token(pair.access_token)
    assert (who.user_id, who.username, who.roles, who.method) == (
        ann.id,
        "ann",
        frozenset({"admin"}),
        "bearer",
    )
    assert who.session_id == pair.session_id and who.library_ids is None and who.is_admin
    header = jwt.get_unverified_header(pair.access_token)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["sub"] == str(ann.id) and claims["sid"] == pair.session_id
    assert (claims["iss"], claims["aud"], claims["exp"] - claims["iat"]) == (
        "reelbox",
        "reelbox",
        900,
    )
    [session] = await auth.sessions(ann.id)
    assert (session.id, session.device_name, session.client) == (
        pair.session_id,
        "Ann's phone",
        "t/1",
    )


async def test_a_wrong_password_and_an_unknown_user_look_the_same(
    database: Database, clock: Clock
) -> None:
    passwords = cheap_passwords()
    auth = make_auth(database, clock=clock, passwords=passwords)
    await add_user(database, auth, "ann")
    answers = []
    for username in ("ann", "nobody"):
        before = passwords.checks
        with pytest.raises(InvalidCredentials) as caught:
            await auth.login(username, "wrong password", addr="10.0.0.1")
        answers.append((str(caught.value), caught.value.details, passwords.checks - before))
    # Same message, and one argon2 verification each: no shortcut for a user that is not there.
    assert answers[0] == answers[1] == ("wrong username or password", {}, 1)
    assert auth.statistics().login_failures == 2


async def test_a_hash_made_with_other_parameters_is_upgraded_at_login(
    database: Database, clock: Clock
) -> None:
    old = make_auth(database, clock=clock, passwords=cheap_passwords(time_cost=1))
    ann = await add_user(database, old, "ann")
    assert ann.password_hash is not None and "t=1," in ann.password_hash
    new = make_auth(database, clock=clock, passwords=cheap_passwords(time_cost=2))
    assert new.passwords.needs_rehash(ann.password_hash)
    await new.login("ann", PASSWORD, addr="10.0.0.1")
    async with database.connect() as conn:
        stored = await users.get_user(conn, ann.id)
    assert stored is not None and stored.password_hash is not None
    assert "t=2," in stored.password_hash and not new.passwords.needs_rehash(stored.password_hash)
    await new.login("ann", PASSWORD, addr="10.0.0.1")  # the new hash verifies


async def test_a_disabled_account_cannot_log_in(database: Database, auth: Auth) -> None:
    ann = await add_user(database, auth, "ann")
    async with database.begin() as conn:
        await users.update_user(conn, ann.id, disabled=True)
    with pytest.raises(Forbidden, match="disabled"):
        await auth.login("ann", PASSWORD, addr="10.0.0.1")


# --- access tokens and keys ---------------------------------------------------------------------


async def test_an_access_token_expires_after_its_ttl_and_the_leeway(
    database: Database, clock: Clock
) -> None:
    auth = make_auth(database, clock=clock, access_ttl_s=60)
    await add_user(database, auth, "ann")
    pair = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    clock.advance(60 + 29)  # inside the 30 s leeway
    await auth.principal_for_access_token(pair.access_token)
    clock.advance(2)
    with pytest.raises(TokenExpired) as caught:
        await auth.principal_for_access_token(pair.access_token)
    assert caught.value.details == {"reason": "expired"}
    # The refresh token still works, and gives a fresh access token.
    fresh = await auth.refresh(pair.refresh_token)
    assert (await auth.principal_for_access_token(fresh.access_token)).username == "ann"


def _forge(claims: dict[str, object], header: dict[str, object], key: Ed25519PrivateKey) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers=header)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tokens_signed_with_another_key_tampered_or_unsigned_are_refused(
    database: Database, auth: Auth
) -> None:
    await add_user(database, auth, "ann")
    pair = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    header = jwt.get_unverified_header(pair.access_token)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    foreign = Ed25519PrivateKey.generate()

    same_kid = _forge(claims, {"kid": header["kid"]}, foreign)
    unknown_kid = _forge(claims, {"kid": "not-a-kid"}, foreign)
    no_kid = _forge(claims, {}, foreign)
    head, body, signature = pair.access_token.split(".")
    tampered = ".".join((head, _b64({**claims, "roles": ["admin"]}), signature))
    unsigned = ".".join((_b64({"alg": "none", "kid": header["kid"]}), body, ""))
    public_pem = foreign.public_key().public_bytes_raw()
    hs256 = jwt.encode(claims, public_pem, algorithm="HS256", headers={"kid": header["kid"]})
    refusals = {
        same_kid: "refused",
        unknown_kid: "unknown or retired",
        no_kid: "names no signing key",
        tampered: "refused",
        unsigned: "algorithm",
        hs256: "algorithm",
        "garbage": "not a JWT",
        pair.refresh_token: "not a JWT",
    }
    for token, why in refusals.items():
        with pytest.raises(InvalidToken, match=why):
            await auth.principal_for_access_token(token)
    # The genuine token still passes, and a wrong audience or issuer does not.
    await auth.principal_for_access_token(pair.access_token)
    key = await auth.keys.signing_key()
    for wrong in ({"aud": "someone-else"}, {"iss": "someone-else"}):
        forged = _forge({**claims, **wrong}, {"kid": key.kid}, key.private_key)
        with pytest.raises(InvalidToken, match="refused"):
            await auth.principal_for_access_token(forged)


async def test_key_rotation_keeps_old_tokens_valid_until_the_key_retires(
    database: Database, clock: Clock
) -> None:
    auth = make_auth(database, clock=clock, key_rotation_s=3600, access_ttl_s=900)
    await add_user(database, auth, "ann")
    await auth.login("ann", PASSWORD, addr="10.0.0.1")
    clock.advance(3599)
    old = await auth.login("ann", PASSWORD, addr="10.0.0.1")  # the last token of the first key
    clock.advance(2)  # the key is due: the next token is signed by a new one
    new = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    new_kid = jwt.get_unverified_header(new.access_token)["kid"]
    assert new_kid != old_kid and auth.keys.statistics().current_kid == new_kid

    await auth.principal_for_access_token(old.access_token)  # the previous key still verifies
    async with database.connect() as conn:
        keys = {k.kid: k for k in await auth_queries.list_signing_keys(conn, clock())}
    retired_at = keys[old_kid].retired_at
    assert keys[new_kid].retired_at is None and retired_at is not None
    # ... until the longest token it may have signed has expired (stream tokens here: 6 h).
    assert retired_at - keys[new_kid].created_at >= timedelta(hours=6)

    other_node = make_auth(database, clock=clock)  # knows nothing but the database
    await other_node.principal_for_access_token(new.access_token)
    await other_node.principal_for_access_token(old.access_token)
    assert await auth.keys.retire(old_kid)
    with pytest.raises(InvalidToken, match="retired"):
        await auth.principal_for_access_token(old.access_token)
    await auth.principal_for_access_token(new.access_token)


# --- refresh, logout, other nodes ---------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_session(
    database: Database, auth: Auth, clock: Clock
) -> None:
    await add_user(database, auth, "ann")
    first = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    clock.advance(10)
    second = await auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    assert second.refresh_expires_at > first.refresh_expires_at
    await auth.principal_for_access_token(second.access_token)

    with pytest.raises(SessionRevoked, match="used before"):
        await auth.refresh(first.refresh_token)  # an old token comes back: stolen?
    for token in (first.access_token, second.access_token):
        with pytest.raises(SessionRevoked):
            await auth.principal_for_access_token(token)
    with pytest.raises(InvalidToken):
        await auth.refresh(second.refresh_token)
    with pytest.raises(InvalidToken, match="unknown refresh token"):
        await auth.refresh("rbr_never-issued")
    assert await auth.sessions(first.principal.user_id) == []
    assert auth.statistics().reuse_detected == 1


async def test_logout_is_seen_at_once_by_every_node(database: Database, clock: Clock) -> None:
    store = MemorySessionStore()  # what Redis is to a cluster
    node_a = make_auth(database, clock=clock, store=store)
    node_b = make_auth(database, clock=clock, store=store)
    await add_user(database, node_a, "ann")
    pair = await node_a.login("ann", PASSWORD, addr="10.0.0.1")
    other = await node_b.login("ann", PASSWORD, addr="10.0.0.1")
    await node_b.principal_for_access_token(pair.access_token)

    assert await node_a.logout(pair.session_id)
    for node in (node_a, node_b):
        with pytest.raises(SessionRevoked):
            await node.principal_for_access_token(pair.access_token)
        with pytest.raises(InvalidToken):
            await node.refresh(pair.refresh_token)
    await node_a.principal_for_access_token(other.access_token)  # the other session lives

    # A node whose store knows nothing (restarted) asks the database, which has the truth.
    restarted = make_auth(database, clock=clock)
    await restarted.principal_for_access_token(other.access_token)
    with pytest.raises(SessionRevoked):
        await restarted.principal_for_access_token(pair.access_token)


async def test_logout_all_ends_every_session_of_the_user_only(
    database: Database, clock: Clock
) -> None:
    store = MemorySessionStore()
    node_a = make_auth(database, clock=clock, store=store)
    node_b = make_auth(database, clock=clock, store=store)
    await add_user(database, node_a, "ann")
    await add_user(database, node_a, "bob")
    ann = [await node_a.login("ann", PASSWORD, addr="10.0.0.1", device=f"d{i}") for i in range(3)]
    bob = await node_a.login("bob", PASSWORD, addr="10.0.0.1")
    assert len(await node_b.sessions(ann[0].principal.user_id)) == 3

    assert await node_b.logout_all(ann[0].principal.user_id) == 3
    for pair in ann:
        for node in (node_a, node_b):
            with pytest.raises(SessionRevoked):
                await node.principal_for_access_token(pair.access_token)
    await node_a.principal_for_access_token(bob.access_token)
    assert await node_a.sessions(ann[0].principal.user_id) == []


async def test_ending_one_of_my_sessions_and_not_someone_elses(
    database: Database, auth: Auth
) -> None:
    await add_user(database, auth, "ann")
    await add_user(database, auth, "bob")
    ann = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    bob = await auth.login("bob", PASSWORD, addr="10.0.0.1")
    with pytest.raises(AuthNotFound):
        await auth.end_session(ann.principal.user_id, bob.session_id)
    await auth.principal_for_access_token(bob.access_token)
    await auth.end_session(ann.principal.user_id, ann.session_id)
    with pytest.raises(SessionRevoked):
        await auth.principal_for_access_token(ann.access_token)
    assert await auth.logout_refresh_token(bob.refresh_token)
    with pytest.raises(SessionRevoked):
        await auth.principal_for_access_token(bob.access_token)


# --- HTTP Basic, API keys -----------------------------------------------------------------------


async def test_basic_credentials_give_a_principal_and_are_verified_once_a_minute(
    database: Database, clock: Clock
) -> None:
    passwords = cheap_passwords()
    auth = make_auth(database, clock=clock, passwords=passwords)
    ann = await add_user(database, auth, "ann")
    checks = passwords.checks
    for _ in range(5):
        who = await auth.principal_for_password("ann", PASSWORD, addr="10.0.0.1")
        assert (who.user_id, who.method, who.session_id) == (ann.id, "basic", None)
    assert passwords.checks == checks + 1
    clock.advance(61)
    await auth.principal_for_password("ann", PASSWORD, addr="10.0.0.1")
    assert passwords.checks == checks + 2
    with pytest.raises(InvalidCredentials) as caught:
        await auth.principal_for_password("ann", "not it at all", addr="10.0.0.1")
    assert caught.value.scheme == "Basic"


async def test_api_keys_are_made_used_and_revoked(
    database: Database, auth: Auth, clock: Clock
) -> None:
    ann = await add_user(database, auth, "ann")
    bob = await add_user(database, auth, "bob")
    record, key = await auth.create_api_key(ann.id, "home assistant")
    assert key.startswith("rbk_") and record.prefix == key[:12] and record.last_used_at is None
    who = await auth.principal_for_api_key(key)
    assert (who.user_id, who.method, who.session_id) == (ann.id, "api_key", None)
    [listed] = await auth.api_keys(ann.id)
    assert listed.name == "home assistant" and listed.last_used_at == clock()
    with pytest.raises(AuthNotFound):
        await auth.revoke_api_key(bob.id, record.id)  # not bob's key
    await auth.revoke_api_key(ann.id, record.id)
    with pytest.raises(InvalidToken, match="revoked"):
        await auth.principal_for_api_key(key)
    with pytest.raises(InvalidToken):
        await auth.principal_for_api_key("rbk_made-up")
    assert await auth.api_keys(ann.id) == []


# --- invites ------------------------------------------------------------------------------------


async def test_an_invite_creates_a_user_with_its_role_and_libraries_once(
    database: Database, auth: Auth
) -> None:
    admin = await add_user(database, auth, "admin", role="admin")
    async with database.begin() as conn:
        films = await libraries.create_library(conn, "Films", LibraryKind.MOVIES)
        await libraries.create_library(conn, "Grown-up", LibraryKind.MOVIES)
    invite, code = await auth.create_invite(
        admin.id, role="child", library_ids=[films.id], max_parental_rating=12
    )
    assert (invite.role, invite.library_ids, invite.used_at) == ("child", (films.id,), None)
    pair = await auth.accept_invite(code, "kid", "a long enough pass", addr="10.0.0.9")
    who = await auth.principal_for_access_token(pair.access_token)
    assert (who.roles, who.library_ids, who.max_parental_rating) == (
        frozenset({"child"}),
        frozenset({films.id}),
        12,
    )
    assert who.can_see_library(films.id) and not who.can_see_library(films.id + 1)
    await auth.login("kid", "a long enough pass", addr="10.0.0.9")

    with pytest.raises(InviteUnusable, match="used already"):
        await auth.accept_invite(code, "kid2", "a long enough pass", addr="10.0.0.9")
    [listed] = await auth.invites()
    assert listed.used_by == who.user_id and listed.used_at is not None

    member, member_code = await auth.create_invite(admin.id)  # a member who sees everything
    pair = await auth.accept_invite(member_code, "pat", "a long enough pass", addr="10.0.0.9")
    assert pair.principal.library_ids is None and pair.principal.roles == {"member"}
    assert member.library_ids is None


async def test_expired_revoked_unknown_and_conflicting_invites_are_refused(
    database: Database, auth: Auth, clock: Clock
) -> None:
    admin = await add_user(database, auth, "admin", role="admin")
    _, code = await auth.create_invite(admin.id, ttl_s=3600)
    clock.advance(3601)
    with pytest.raises(InviteUnusable, match="expired"):
        await auth.accept_invite(code, "late", "a long enough pass", addr="10.0.0.9")
    with pytest.raises(InviteUnusable, match="no such invite"):
        await auth.accept_invite("made-up", "who", "a long enough pass", addr="10.0.0.9")

    invite, code = await auth.create_invite(admin.id)
    with pytest.raises(Conflict, match="taken"):
        await auth.accept_invite(code, "admin", "a long enough pass", addr="10.0.0.9")
    with pytest.raises(InvalidRequest, match="at least 8") as caught:
        await auth.accept_invite(code, "newbie", "short", addr="10.0.0.9")
    assert caught.value.field == "password"
    with pytest.raises(InvalidRequest) as caught:
        await auth.accept_invite(code, "has space", "a long enough pass", addr="10.0.0.9")
    assert caught.value.field == "username"
    await auth.revoke_invite(invite.id)  # still unused after those failures; now gone
    with pytest.raises(InviteUnusable):
        await auth.accept_invite(code, "newbie", "a long enough pass", addr="10.0.0.9")
    with pytest.raises(AuthNotFound):
        await auth.revoke_invite(invite.id)
    with pytest.raises(InvalidRequest):
        await auth.create_invite(admin.id, role="superuser")


# --- rate limits --------------------------------------------------------------------------------


async def test_login_attempts_are_limited_per_account_and_per_address(
    database: Database, clock: Clock
) -> None:
    auth = make_auth(
        database,
        clock=clock,
        login_attempts_per_account=3,
        login_attempts_per_address=5,
        login_window_s=300,
    )
    await add_user(database, auth, "ann")
    # Per account: three wrong guesses from three addresses, then even the right password waits.
    for i in range(3):
        with pytest.raises(InvalidCredentials):
            await auth.login("ann", "guess", addr=f"10.0.1.{i}")
    with pytest.raises(RateLimited) as caught:
        await auth.login("ann", PASSWORD, addr="10.0.1.99")
    assert 90 < caught.value.retry_after <= 100  # one attempt per 300 s / 3
    # Per address: five attempts on five accounts, then the address waits.
    for i in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(f"user{i}", "guess", addr="10.0.2.1")
    with pytest.raises(RateLimited):
        await auth.login("someone", "guess", addr="10.0.2.1")
    assert auth.statistics().rate_limited == 2


async def test_a_successful_login_clears_the_account_count(
    database: Database, clock: Clock
) -> None:
    auth = make_auth(database, clock=clock, login_attempts_per_account=2)
    await add_user(database, auth, "ann")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login("ann", "typo", addr="10.0.0.1")
        await auth.login("ann", PASSWORD, addr="10.0.0.1")


# --- stream tokens ------------------------------------------------------------------------------


async def test_a_stream_token_opens_its_playback_session_only_and_expires(
    database: Database, auth: Auth, clock: Clock
) -> None:
    await add_user(database, auth, "ann")
    pair = await auth.login("ann", PASSWORD, addr="10.0.0.1")
    issued = await auth.stream_token(pair.principal, "play-1")
    assert timedelta(hours=6) - timedelta(seconds=1) < issued.expires_at - clock()
    who = await auth.principal_for_stream_token(issued.token)
    assert (who.method, who.playback_session, who.session_id) == (
        "stream",
        "play-1",
        pair.session_id,
    )
    assert who.may_stream("play-1") and not who.may_stream("play-2")
    assert pair.principal.may_stream("play-2")  # an access token opens any of its sessions
    with pytest.raises(InvalidToken):
        await auth.principal_for_access_token(issued.token)  # a stream token is no access token
    with pytest.raises(InvalidToken):
        await auth.principal_for_stream_token(pair.access_token)
    with pytest.raises(Forbidden):
        await auth.stream_token(who, "play-2")

    short = await auth.stream_token(pair.principal, "play-1", ttl_s=120)
    clock.advance(120 + 31)
    with pytest.raises(TokenExpired):
        await auth.principal_for_stream_token(short.token)
    await auth.principal_for_stream_token(issued.token)
    await auth.logout(pair.session_id)  # logging out ends the session's stream tokens too
    with pytest.raises(SessionRevoked):
        await auth.principal_for_stream_token(issued.token)


# --- external identities (OIDC) -----------------------------------------------------------------


async def test_an_external_login_creates_the_user_or_links_a_verified_email(
    database: Database, auth: Auth
) -> None:
    first = await auth.login_external("google", "sub-1", "Ann.Lee@example.com", True, "Ann Lee")
    assert (first.username, first.provider, first.subject) == ("Ann.Lee", "google", "sub-1")
    again = await auth.login_external("google", "sub-1", "changed@example.com", True, None)
    assert again.id == first.id
    pair = await auth.issue_for_user(again, "phone")
    assert (await auth.principal_for_access_token(pair.access_token)).user_id == first.id
    assert pair.principal.library_ids == frozenset()  # none until an admin grants some

    bob = await add_user(database, auth, "bob")
    async with database.begin() as conn:
        await users.update_user(conn, bob.id, email="bob@example.com")
    # An unverified email does not link: a new user, without the email someone else holds.
    stranger = await auth.login_external("apple", "sub-2", "BOB@example.com", False, "Bob")
    assert stranger.id != bob.id and stranger.email is None and stranger.username == "BOB"
    linked = await auth.login_external("apple", "sub-3", "BOB@example.com", True, "Bob")
    assert linked.id == bob.id and (linked.provider, linked.subject) == ("apple", "sub-3")
    await auth.login("bob", PASSWORD, addr="10.0.0.1")  # the password still works
    with pytest.raises(Conflict):
        await auth.login_external("other", "sub-4", "bob@example.com", True, "Bob")
    twin = await auth.login_external("github", "sub-5", None, False, "Ann Lee")
    assert twin.username == "Ann-Lee"
    admin = await auth.login_external("github", "sub-6", None, False, None, role="admin")
    assert admin.roles == ("admin",) and admin.username == "github"


@pytest.mark.redis
async def test_two_nodes_on_redis_share_revocations_and_login_limits(
    database: Database, clock: Clock
) -> None:
    """The cluster case: each node its own Redis client, one Redis, one catalog."""
    if not tcp_answers(REDIS_URL, 6379):
        service_missing("Redis", REDIS_URL)
    prefix = f"reelbox-test-{uuid.uuid4().hex[:8]}:"
    async with (
        open_state(REDIS_URL, node_id="a", prefix=prefix) as state_a,
        open_state(REDIS_URL, node_id="b", prefix=prefix) as state_b,
    ):
        node_a, node_b = (
            Auth(
                database,
                state.sessions,
                state.limiter,
                AuthSettings(login_attempts_per_account=2),
                passwords=cheap_passwords(),
                clock=clock,
            )
            for state in (state_a, state_b)
        )
        ann = await add_user(database, node_a, "ann")
        pair = await node_a.login("ann", PASSWORD, addr="10.0.0.1")
        await node_b.principal_for_access_token(pair.access_token)
        await node_a.logout(pair.session_id)
        with pytest.raises(SessionRevoked):
            await node_b.principal_for_access_token(pair.access_token)

        pairs = [await node.login("ann", PASSWORD, addr="10.0.0.1") for node in (node_a, node_b)]
        await node_b.logout_all(ann.id)
        for each in pairs:
            with pytest.raises(SessionRevoked):
                await node_a.principal_for_access_token(each.access_token)

        for node in (node_a, node_b):  # two wrong guesses, one on each node ...
            with pytest.raises(InvalidCredentials):
                await node.login("ann", "guess", addr="10.0.0.1")
        with pytest.raises(RateLimited):  # ... and the account waits on both
            await node_a.login("ann", PASSWORD, addr="10.0.0.1")
