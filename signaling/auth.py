"""Who is asking: one signer and verifier of link tokens, and the principals they name."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from room.errors import Code, TribuneError
from room.store import Store
from room.types import Role

SECRET_KEY = "secret"
DEFAULT_TTL = 90 * 24 * 3600.0
MIN_SECRET = 32
"""HS256 keys shorter than the hash output weaken the signature (RFC 7518 3.2)."""


@dataclass(frozen=True)
class Claims:
    event_id: str
    invitation: str
    role: Role
    gen: int


async def load_secret(store: Store, configured: str | None) -> str:
    """The configured secret, or one generated once and shared by every node through the store."""
    if configured:
        return configured
    await store.set_nx(SECRET_KEY, secrets.token_urlsafe(32).encode())
    raw = await store.get(SECRET_KEY)
    assert raw is not None
    return raw.decode()


class Tokens:
    def __init__(self, secret: str, ttl: float = DEFAULT_TTL) -> None:
        if len(secret.encode()) < MIN_SECRET:
            raise ValueError(f"the token secret must be at least {MIN_SECRET} bytes long")
        self._secret = secret
        self._ttl = ttl

    def sign(self, event_id: str, invitation: str, role: Role, gen: int) -> str:
        issued = int(time.time())
        payload = {
            "ev": event_id,
            "inv": invitation,
            "role": role.value,
            "gen": gen,
            "iat": issued,
            "exp": issued + int(self._ttl),
        }
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Claims:
        try:
            data = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["exp", "ev", "inv", "role", "gen"]},
            )
            return Claims(
                event_id=str(data["ev"]),
                invitation=str(data["inv"]),
                role=Role(data["role"]),
                gen=int(data["gen"]),
            )
        except jwt.ExpiredSignatureError:
            raise TribuneError(Code.UNAUTHORIZED, "this link has expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            raise TribuneError(Code.UNAUTHORIZED, "this link is not valid") from None


# -- download links: short-lived signatures for one export of one event --------------------


_SECRET_KEY = "moderation:download-secret"


async def _download_secret(store: Store) -> str:
    await store.set_nx(_SECRET_KEY, secrets.token_urlsafe(32).encode())
    raw = await store.get(_SECRET_KEY)
    assert raw is not None
    return raw.decode()


async def sign_download(store: Store, event_id: str, dataset: str, who: str, ttl: int) -> str:
    """A short-lived signature for one export of one event (the manager page's download link)."""
    issued = int(time.time())
    claims = {
        "ev": event_id,
        "ds": dataset,
        "by": who,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, await _download_secret(store), algorithm="HS256")


async def check_download(store: Store, event_id: str, dataset: str, sig: str) -> None:
    """Refuse unless `sig` is a live signature for this export of this event."""
    try:
        claims = jwt.decode(
            sig,
            await _download_secret(store),
            algorithms=["HS256"],
            options={"require": ["exp", "ev", "ds"]},
        )
    except jwt.ExpiredSignatureError:
        raise TribuneError(Code.UNAUTHORIZED, "this download link has expired") from None
    except jwt.InvalidTokenError:
        raise TribuneError(Code.UNAUTHORIZED, "this download link is not valid") from None
    if claims["ev"] != event_id or claims["ds"] != dataset:
        raise TribuneError(Code.FORBIDDEN, "this download link is for another export")
