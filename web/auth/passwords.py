"""Password hashing with argon2id (argon2-cffi), off the event loop.

A hash costs tens of milliseconds and ``memory_kib`` of memory, so hashing runs in worker threads
under a capacity limiter (a burst of logins cannot take all memory). Verifying a password of a
user that does not exist verifies against a dummy hash with the same parameters, so a wrong
username costs the same work as a wrong password. ``needs_rehash`` tells when a stored hash was
made with other parameters; the login that proves the password then stores a fresh one.
"""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from web.settings import AuthSettings

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for


class Passwords:
    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_kib: int = 64 * 1024,
        parallelism: int = 4,
        concurrency: int = 2,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._dummy: str | None = None

    @classmethod
    def configured(cls, settings: AuthSettings) -> Passwords:
        return cls(
            time_cost=settings.password_time_cost,
            memory_kib=settings.password_memory_kib,
            parallelism=settings.password_parallelism,
        )

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Whether ``password`` matches ``hashed``; with ``hashed`` None (no such user, or no
        password) the same work is done and the answer is False."""
        if hashed is None:
            if self._dummy is None:
                self._dummy = await self.hash("reelbox: no such user")
            await anyio.to_thread.run_sync(
                self._check, self._dummy, password, limiter=self._limiter
            )
            return False
        return await anyio.to_thread.run_sync(self._check, hashed, password, limiter=self._limiter)

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True

    def _check(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    return None
