"""The one signer and verifier of every token Tribune hands out (HS256): link tokens,
identity tokens (a shared link's identity), download links and slide links.

Magic sign-in links are not signed: they must work once, which a signature cannot
enforce, so they stay random secrets kept as a digest in the store
(`room.accounts.logins`). Who a token makes a request from is `signaling.auth`'s job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from moderation.keys import DOWNLOAD_SECRET
from room import keys
from room.errors import Code, TribuneError
from room.records import Invitation
from room.store import Store
from room.types import Role

DEFAULT_TTL = 90 * 24 * 3600.0
MIN_SECRET = 32
"""HS256 keys shorter than the hash output weaken the signature (RFC 7518 3.2)."""
VERIFIED_CACHE = 4096
"""Link tokens whose signature was checked, kept by token string (least recently used
dropped first): 1,000 people joining on one shared link verify its signature once. What
the token names (the invitation's existence and generation, bans) is checked on every
use by the caller (`signaling.auth.link_invitation`); only the expiry is re-checked here."""


@dataclass(frozen=True, slots=True)
class Claims:
    event_id: str
    invitation: str
    role: Role
    gen: int
    exp: float = 0.0


async def load_secret(store: Store, configured: str | None) -> str:
    """The configured secret, or one generated once and shared by every node through the store."""
    if configured:
        return configured
    await store.set_nx(keys.LINK_SECRET, secrets.token_urlsafe(32).encode())
    raw = await store.get(keys.LINK_SECRET)
    assert raw is not None
    return raw.decode()


_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def encode_hs256(claims: dict[str, object], key: bytes) -> str:
    """A compact HS256 JWT (RFC 7519) of `claims`, the bytes PyJWT would produce for the
    same claims: PyJWT's encoder re-checks its key and options on every call, which made
    signing a shared link's identity token a tenth of the CPU of a join."""
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HEADER + b"." + body
    signature = _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


class Tokens:
    def __init__(self, secret: str, ttl: float = DEFAULT_TTL) -> None:
        if len(secret.encode()) < MIN_SECRET:
            raise ValueError(f"the token secret must be at least {MIN_SECRET} bytes long")
        self._secret = secret
        self._key = secret.encode()
        self._ttl = ttl
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    def sign(
        self, event_id: str, invitation: str, role: Role, gen: int, shared: bool | None = None
    ) -> str:
        """A link token. `shared` (claim `sh`, read by the room page only, never trusted by
        the server) tells the page whether to ask for a display name; tokens signed without
        it leave the page to guess."""
        issued = int(time.time())
        payload: dict[str, object] = {
            "ev": event_id,
            "inv": invitation,
            "role": role.value,
            "gen": gen,
            "iat": issued,
            "exp": issued + int(self._ttl),
        }
        if shared is not None:
            payload["sh"] = int(shared)
        return encode_hs256(payload, self._key)

    def sign_invitation(self, inv: Invitation) -> str:
        """The token of an invitation's link, for its current generation."""
        return self.sign(inv.event_id, inv.id, inv.role, inv.gen, shared=inv.shared)

    def verify(self, token: str) -> Claims:
        """The claims of a link token with a valid signature that has not expired, else
        `unauthorized`. A token verified before is looked up, not decoded again."""
        known = self._verified.get(token)
        if known is not None:
            if known.exp > time.time():
                self._verified.move_to_end(token)
                return known
            del self._verified[token]
        claims = self._decode(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> Claims:
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
                exp=float(data["exp"]),
            )
        except jwt.ExpiredSignatureError:
            raise TribuneError(Code.UNAUTHORIZED, "this link has expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            raise TribuneError(Code.UNAUTHORIZED, "this link is not valid") from None

    def sign_identity(self, event_id: str, invitation: str, identity: str) -> str:
        """The identity token of a shared link's identity (`room.presence.identities`),
        as long-lived as a link: the page presents it as `auth.identity` on reconnect."""
        issued = int(time.time())
        claims: dict[str, object] = {"use": "identity", "ev": event_id, "inv": invitation}
        claims |= {"id": identity, "iat": issued, "exp": issued + int(self._ttl)}
        return encode_hs256(claims, self._key)

    def verify_identity(self, token: str, inv: Invitation) -> str:
        """The identity an identity token names for the link `inv`, else `unauthorized`."""
        need = ["exp", "use", "ev", "inv", "id"]
        try:
            data = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": need})
        except jwt.InvalidTokenError:
            data = {}
        if (data.get("use"), data.get("ev"), data.get("inv")) != ("identity", inv.event_id, inv.id):
            raise TribuneError(Code.UNAUTHORIZED, "this identity token is not valid for this link")
        return str(data["id"])


# -- download links: short-lived signatures for one export of one event --------------------


async def _download_secret(store: Store) -> str:
    await store.set_nx(DOWNLOAD_SECRET, secrets.token_urlsafe(32).encode())
    raw = await store.get(DOWNLOAD_SECRET)
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


async def _verify_link(store: Store, sig: str, required: list[str], what: str) -> dict[str, Any]:
    """The claims of a download or slide link signed with the download secret, or
    `unauthorized` naming `what` (expired, forged, or missing a claim)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            sig, await _download_secret(store), algorithms=["HS256"], options={"require": required}
        )
    except jwt.ExpiredSignatureError:
        raise TribuneError(Code.UNAUTHORIZED, f"this {what} has expired") from None
    except jwt.InvalidTokenError:
        raise TribuneError(Code.UNAUTHORIZED, f"this {what} is not valid") from None
    return claims


async def check_download(store: Store, event_id: str, dataset: str, sig: str) -> None:
    """Refuse unless `sig` is a live signature for this export of this event."""
    claims = await _verify_link(store, sig, ["exp", "ev", "ds"], "download link")
    if claims["ev"] != event_id or claims["ds"] != dataset:
        raise TribuneError(Code.FORBIDDEN, "this download link is for another export")


# -- slide links: a deck's signature, handed with the slide position --------------------------


async def sign_slides(store: Store, event_id: str, deck_id: str) -> str:
    """The signature of one deck's image links (`/slides/{event}/{deck}/{i}?sig=`). It is
    handed to everyone the event sends the slide position to, and lives as long as the deck
    (a new upload is a new deck): what it may read is `moderation.slides.readable`'s rule."""
    claims = {"use": "slides", "ev": event_id, "deck": deck_id, "iat": int(time.time())}
    return jwt.encode(claims, await _download_secret(store), algorithm="HS256")


async def check_slides(store: Store, event_id: str, deck_id: str, sig: str) -> None:
    """Refuse unless `sig` is the signature of this deck's image links."""
    claims = await _verify_link(store, sig, ["use", "ev", "deck"], "slide link")
    if claims["use"] != "slides" or claims["ev"] != event_id or claims["deck"] != deck_id:
        raise TribuneError(Code.FORBIDDEN, "this slide link is for another deck")
