"""Every store key of the room domain (core, audience, accounts), in one place.

Stored data is found by these strings, so they never change: a renamed key would
orphan what is stored under it (tests/room/test_keys.py pins each one). Moderation
keeps its own keys, under the same `ev:{event_id}:` prefix, in `moderation/keys.py`.
Names inside keys and fields (rate-limit scopes of `attempts`, idempotency keys in
`MAIL_KEYS`) are here too: changing one resets a limit or sends a mail again. Short-lived
keys carry a TTL (`Store.expire`), so storage does not grow with them: attempt buckets,
sign-in sessions and links, delivered mail.
"""

from __future__ import annotations

from collections.abc import Iterable

from room.keys_accounts import INVOICE_NUMBERS as INVOICE_NUMBERS
from room.keys_accounts import INVOICE_SEQ as INVOICE_SEQ
from room.keys_accounts import account_addons as account_addons
from room.keys_accounts import account_invoices as account_invoices
from room.keys_accounts import credit_balances as credit_balances
from room.keys_accounts import credit_clients as credit_clients
from room.keys_accounts import credit_ledger as credit_ledger
from room.keys_accounts import invoice_mail as invoice_mail
from room.keys_accounts import secondary_accounts as secondary_accounts
from room.keys_accounts import secondary_mail as secondary_mail
from room.keys_media import recording_exports as recording_exports
from room.keys_media import recordings as recordings
from room.keys_media import timeline as timeline
from room.keys_replay import followed_up as followed_up
from room.keys_replay import replay_mail as replay_mail
from room.keys_replay import replay_mailed as replay_mailed

# -- global ----------------------------------------------------------------------------------

EVENTS = "events"
"""Hash: event id -> `Event`."""
ACCOUNTS = "accounts"
"""Hash: account id -> `Account`."""
API_KEYS = "apikeys"
"""Hash: API key digest -> account id."""
USERS = "users"
"""Hash: user id -> `User` (dashboard logins)."""
USER_EMAILS = "users:email"
"""Hash: e-mail -> user id."""
ATTEMPTS = "attempts"
"""Hash: the rate limiter's buckets of sign-ins and registrations, one field per scope, as
earlier versions kept them (read no more: each scope is now its own key, `attempts`)."""
MAIL_KEYS = "mail:keys"
"""Hash: idempotency key -> queued message id."""
MAIL_MESSAGES = "mail:msgs"
"""Hash: message id -> `MailMessage`."""
MAIL_DUE = "mail:due"
"""Sorted set: message ids by when they are due."""
NODES = "nodes"
"""Hash: node id -> `nodes.Node` (the heartbeat: media address and deadline)."""
MEDIA_EVENTS = "media:events"
"""Hash: event id -> b"" for every event whose media has an owner (watched for failover)."""
LINK_SECRET = "secret"
"""The secret that signs link tokens, generated once when none is configured."""
DEMO = "demo"
"""The demo account, event and invitations of `tribune serve --demo`."""


# -- per account -----------------------------------------------------------------------------


def account_events(account_id: str) -> str:
    return f"acc:{account_id}:events"


def account_users(account_id: str) -> str:
    return f"acc:{account_id}:users"


def live_events(account_id: str) -> str:
    """Slot pool: the account's live events, capped by the parallel-events allowance."""
    return f"acc:{account_id}:live"


def account_keys(account_id: str) -> list[str]:
    """Every key one account owns (each per-account builder here and in `keys_accounts`):
    erasing a secondary account deletes them. A new per-account key is listed here too."""
    a = account_id
    return [
        *(account_events(a), account_users(a), live_events(a), secondary_accounts(a)),
        *(account_addons(a), account_invoices(a)),
        *(credit_balances(a), credit_clients(a), credit_ledger(a)),
    ]


# -- per sign-in token (only the token's digest is stored) -------------------------------------


def login(digest: str) -> str:
    return f"login:{digest}"


def magic_link(digest: str) -> str:
    return f"magic:{digest}"


# -- short-lived keys (each carries a TTL: `Store.expire`) -----------------------------------


def attempts(scope: str) -> str:
    """Hash: the rate limiter's bucket of one scope (sign-ins, registrations, new identities
    per address; `..._scope` below); it expires once the bucket is full again."""
    return f"attempts:{scope}"


def mail_done(message_id: str) -> str:
    """A sent (or given-up) `MailMessage`, kept a while for who asks about it."""
    return f"mail:done:{message_id}"


# -- per event: the room core ----------------------------------------------------------------


def invitations(event_id: str) -> str:
    """Hash: invitation id -> `Invitation`."""
    return f"ev:{event_id}:invs"


def bindings(event_id: str) -> str:
    """Hash: personal invitation -> the device it is bound to."""
    return f"ev:{event_id}:bind"


def roster(event_id: str) -> str:
    """Hash: identity -> `Person`."""
    return f"ev:{event_id}:roster"


def connections(event_id: str) -> str:
    return f"ev:{event_id}:conns"


def hands(event_id: str) -> str:
    return f"ev:{event_id}:hands"


def public_roster(event_id: str) -> str:
    """Hash: the identities everyone may see in the roster (an index of `roster`)."""
    return f"ev:{event_id}:public"


def bans(event_id: str) -> str:
    return f"ev:{event_id}:bans"


def revocations(event_id: str) -> str:
    """Counter: bumped by every revocation in the event (a link withdrawn or re-issued, a
    ban, a collaborator removed, the event deleted); connections re-check when it moved."""
    return f"ev:{event_id}:revoked"


def sockets(event_id: str) -> str:
    """Hash: Socket.IO sid (any namespace, any node) -> `Holder`, swept on a revocation."""
    return f"ev:{event_id}:socks"


def banned_addresses(event_id: str) -> str:
    """Hash: client address of a banned person -> until when it gets no new identity."""
    return f"ev:{event_id}:bans:addr"


def identity_addresses(event_id: str) -> str:
    """Hash: identity of a shared link -> the client address it last joined from."""
    return f"ev:{event_id}:idaddr"


def seats(event_id: str, pool: str) -> str:
    """Slot pool: the seats of one `SeatPool`."""
    return f"ev:{event_id}:seats:{pool}"


def stage_slots(event_id: str, source: str) -> str:
    """Slot pool: the stage slots of one source (camera, mic, screen)."""
    return f"ev:{event_id}:stage:{source}"


def is_stage_slots(pool: str) -> bool:
    """Whether a slot pool key is one of `stage_slots`."""
    return pool.startswith("ev:") and ":stage:" in pool


def changes(event_id: str) -> str:
    """Revision log of the event's changes (the store adds `:rev` and `:log`)."""
    return f"ev:{event_id}:changes"


# -- per event: accounts' staff --------------------------------------------------------------


def collaborators(event_id: str) -> str:
    return f"ev:{event_id}:collabs"


def staff_links(event_id: str) -> str:
    """Hash: dashboard user (or "api") -> his personal invitation id."""
    return f"ev:{event_id}:staffinv"


def mailed_invitations(event_id: str) -> str:
    """Hash: invitation id -> b"1" for the presenter and collaborator invitations mailed
    from the dashboard (listed, re-issued and revoked there)."""
    return f"ev:{event_id}:invmail"


# -- per event: the audience -----------------------------------------------------------------


def registrations(event_id: str) -> str:
    """Hash: e-mail -> `Registration`."""
    return f"ev:{event_id}:regs"


def registration_order(event_id: str) -> str:
    """List: "{email}\\n{id}" in the order people registered."""
    return f"ev:{event_id}:regs:order"


def registration_cids(event_id: str) -> str:
    """Hash: "{cid}:{email}" -> the id of the registration that client id made."""
    return f"ev:{event_id}:regs:cid"


def registration_charges(event_id: str) -> str:
    """Hash: e-mail -> b"1" once its registration consumed its credits (the credits plan):
    every try of one e-mail's registration consumes once."""
    return f"ev:{event_id}:regs:charged"


def guests(event_id: str) -> str:
    """Hash: e-mail -> `Guest` of the access list."""
    return f"ev:{event_id}:guests"


def guest_order(event_id: str) -> str:
    """List: "{email}\\n{invitation id}" in the order guests were added."""
    return f"ev:{event_id}:guests:order"


def guests_by_invitation(event_id: str) -> str:
    """Hash: invitation id -> guest e-mail."""
    return f"ev:{event_id}:guests:inv"


def activity(event_id: str) -> str:
    """List: the activity log."""
    return f"ev:{event_id}:activity"


def direct_link(event_id: str) -> str:
    """The direct-access invitation, kept while disabled so it comes back the same."""
    return f"ev:{event_id}:direct"


def sessions(event_id: str) -> str:
    """Hash: session id -> `SessionRecord`."""
    return f"ev:{event_id}:sess"


def session_order(event_id: str) -> str:
    """List: session ids in the order they opened."""
    return f"ev:{event_id}:sess:order"


def open_sessions(event_id: str) -> str:
    """Hash: connection id -> "{session id}\\n{identity}" of the sessions still open."""
    return f"ev:{event_id}:sess:open"


def visits(event_id: str) -> str:
    """List: a `Visit` per closed session, for statistics."""
    return f"ev:{event_id}:sess:visits"


def certificates(event_id: str) -> str:
    """Hash: certificate id -> `Certificate`."""
    return f"ev:{event_id}:certs"


def certificates_by_email(event_id: str) -> str:
    return f"ev:{event_id}:certs:email"


def certificate_image(event_id: str, kind: str) -> str:
    """The organizer's logo or signature image."""
    return f"ev:{event_id}:cert:{kind}"


def media_owner(event_id: str) -> str:
    """Hash: "owner" -> `nodes.Owner`, the node that runs the event's media."""
    return f"ev:{event_id}:media"


# -- everything one event owns --------------------------------------------------------------


def event_keys(
    event_id: str,
    *,
    pools: Iterable[str] = (),
    sources: Iterable[str] = (),
    image_kinds: Iterable[str] = (),
) -> list[str]:
    """Every key of the room domain that one event owns (each per-event builder above; the
    pools, stage sources and certificate images named): deleting the event deletes them.
    A new per-event key is listed here too (tests/room/test_keys.py fails otherwise)."""
    e = event_id
    return [
        *(invitations(e), bindings(e), roster(e), connections(e), hands(e), public_roster(e)),
        *(bans(e), revocations(e), sockets(e), banned_addresses(e), identity_addresses(e)),
        *(changes(e), changes(e) + ":rev", changes(e) + ":log", collaborators(e)),
        *(staff_links(e), registrations(e), registration_order(e), registration_cids(e)),
        *(registration_charges(e), replay_mailed(e)),
        *(guests(e), guest_order(e), mailed_invitations(e)),
        *(guests_by_invitation(e), activity(e), direct_link(e), sessions(e), session_order(e)),
        *(open_sessions(e), visits(e), certificates(e), certificates_by_email(e)),
        followed_up(e),
        *(media_owner(e), recordings(e), timeline(e), recording_exports(e)),
        *(seats(e, p) for p in pools),
        *(stage_slots(e, s) for s in sources),
        *(certificate_image(e, k) for k in image_kinds),
    ]


# -- rate-limit scopes (`attempts(scope)`) ---------------------------------------------------


def login_ip_scope(ip: str) -> str:
    return f"login-ip:{ip}"


def login_email_scope(email: str) -> str:
    return f"login:{email}"


def magic_ip_scope(ip: str) -> str:
    return f"magic-ip:{ip}"


def magic_email_scope(email: str) -> str:
    return f"magic:{email}"


def magic_use_ip_scope(ip: str) -> str:
    return f"magic-use-ip:{ip}"


def register_ip_scope(ip: str) -> str:
    return f"register-ip:{ip}"


def identity_ip_scope(ip: str) -> str:
    """Identities issued to shared links from one address (`RATES.identity_per_ip`)."""
    return f"identity-ip:{ip}"


# -- mail idempotency keys: fields of MAIL_KEYS ----------------------------------------------


def registered_mail(event_id: str, email: str) -> str:
    return f"registered:{event_id}:{email}"


def registered_again_mail(event_id: str, email: str, hour: int) -> str:
    return f"registered-again:{event_id}:{email}:{hour}"


def collaborator_mail(event_id: str, user_id: str) -> str:
    return f"collaborator:{event_id}:{user_id}"


def invitation_mail(event_id: str, inv_id: str, gen: int) -> str:
    """A presenter or collaborator invitation mailed from the dashboard (each generation of
    the link is mailed once)."""
    return f"invitation:{event_id}:{inv_id}:{gen}"


def thanks_mail(event_id: str, email: str) -> str:
    return f"thanks:{event_id}:{email}"


def certificate_mail(event_id: str, email: str) -> str:
    return f"certificate:{event_id}:{email}"


EVENT_MAIL_KINDS = (
    *("registered", "registered-again", "collaborator", "thanks", "certificate", "invitation"),
    "replay",
)
"""The mail idempotency keys that name an event (`kind:event_id:...`): deleted with it."""


def magic_mail(token_digest: str) -> str:
    """`token_digest` is the first 32 hex digits of the token's SHA-256."""
    return f"magic:{token_digest}"
