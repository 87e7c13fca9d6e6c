"""Passwords of dashboard users: their rules, and hashing with Argon2id (argon2-cffi).

A password is never stored or logged in clear; only its Argon2id hash is kept.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from room.errors import invalid

MIN_PASSWORD = 10
MAX_PASSWORD = 256


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so timing does not tell who has an account."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise invalid(f"the password needs at least {MIN_PASSWORD} characters", "password")
    if len(password) > MAX_PASSWORD:
        raise invalid(f"the password has more than {MAX_PASSWORD} characters", "password")


async def hash_password(password: str) -> str:
    check_password_rules(password)
    return await asyncio.to_thread(_hasher().hash, password)


async def verify(hashed: str, password: str) -> bool:
    """Whether `password` matches `hashed` (checked in a thread: Argon2 is slow on purpose)."""
    return await asyncio.to_thread(_verify, hashed, password[:MAX_PASSWORD])


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher().verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when the hash was made with older parameters than today's."""
    return _hasher().check_needs_rehash(hashed)
