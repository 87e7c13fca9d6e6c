"""The room's store keys keep their exact strings: stored data is found by them."""

from __future__ import annotations

import inspect

from room import keys

CONSTANTS = {
    "EVENTS": "events",
    "ACCOUNTS": "accounts",
    "API_KEYS": "apikeys",
    "USERS": "users",
    "USER_EMAILS": "users:email",
    "ATTEMPTS": "attempts",
    "MAIL_KEYS": "mail:keys",
    "MAIL_MESSAGES": "mail:msgs",
    "MAIL_DUE": "mail:due",
    "LINK_SECRET": "secret",
    "DEMO": "demo",
    "NODES": "nodes",
    "MEDIA_EVENTS": "media:events",
    "INVOICE_SEQ": "invoices:seq",
    "INVOICE_NUMBERS": "invoices:numbers",
    "EVENT_MAIL_KINDS": (
        "registered",
        "registered-again",
        "collaborator",
        "thanks",
        "certificate",
        "invitation",
        "replay",
    ),
}

BUILT = {
    "account_events": "acc:A:events",
    "account_users": "acc:A:users",
    "live_events": "acc:A:live",
    "secondary_accounts": "acc:A:secondary",
    "credit_balances": "acc:A:credits",
    "credit_clients": "acc:A:clients",
    "credit_ledger": "acc:A:ledger",
    "login": "login:A",
    "magic_link": "magic:A",
    "attempts": "attempts:A",
    "mail_done": "mail:done:A",
    "invitations": "ev:A:invs",
    "bindings": "ev:A:bind",
    "roster": "ev:A:roster",
    "connections": "ev:A:conns",
    "hands": "ev:A:hands",
    "public_roster": "ev:A:public",
    "bans": "ev:A:bans",
    "revocations": "ev:A:revoked",
    "sockets": "ev:A:socks",
    "banned_addresses": "ev:A:bans:addr",
    "identity_addresses": "ev:A:idaddr",
    "seats": "ev:A:seats:B",
    "stage_slots": "ev:A:stage:B",
    "changes": "ev:A:changes",
    "collaborators": "ev:A:collabs",
    "staff_links": "ev:A:staffinv",
    "mailed_invitations": "ev:A:invmail",
    "registrations": "ev:A:regs",
    "registration_order": "ev:A:regs:order",
    "registration_cids": "ev:A:regs:cid",
    "registration_charges": "ev:A:regs:charged",
    "guests": "ev:A:guests",
    "guest_order": "ev:A:guests:order",
    "guests_by_invitation": "ev:A:guests:inv",
    "activity": "ev:A:activity",
    "direct_link": "ev:A:direct",
    "sessions": "ev:A:sess",
    "session_order": "ev:A:sess:order",
    "open_sessions": "ev:A:sess:open",
    "visits": "ev:A:sess:visits",
    "certificates": "ev:A:certs",
    "certificates_by_email": "ev:A:certs:email",
    "certificate_image": "ev:A:cert:B",
    "followed_up": "ev:A:followed",
    "media_owner": "ev:A:media",
    "recordings": "ev:A:recs",
    "timeline": "ev:A:timeline",
    "recording_exports": "ev:A:rec_exports",
    "login_ip_scope": "login-ip:A",
    "login_email_scope": "login:A",
    "magic_ip_scope": "magic-ip:A",
    "magic_email_scope": "magic:A",
    "magic_use_ip_scope": "magic-use-ip:A",
    "register_ip_scope": "register-ip:A",
    "identity_ip_scope": "identity-ip:A",
    "registered_mail": "registered:A:B",
    "registered_again_mail": "registered-again:A:B:C",
    "collaborator_mail": "collaborator:A:B",
    "invitation_mail": "invitation:A:B:C",
    "secondary_mail": "secondary:A",
    "thanks_mail": "thanks:A:B",
    "certificate_mail": "certificate:A:B",
    "replay_mail": "replay:A:B",
    "replay_mailed": "ev:A:replay:mailed",
    "magic_mail": "magic:A",
    "account_addons": "acc:A:addons",
    "account_invoices": "acc:A:invoices",
    "invoice_mail": "invoice:A",
}


def test_every_key_is_pinned():
    constants = {n: v for n, v in vars(keys).items() if n.isupper()}
    assert constants == CONSTANTS
    builders = {
        n: f
        for n, f in vars(keys).items()
        if inspect.isfunction(f) and n not in ("is_stage_slots", "event_keys", "account_keys")
    }
    assert set(builders) == set(BUILT)
    for name, fn in builders.items():
        args = ["A", "B", "C"][: len(inspect.signature(fn).parameters)]
        assert fn(*args) == BUILT[name], name


def test_stage_slot_pools_are_told_from_seat_pools():
    assert keys.is_stage_slots(keys.stage_slots("e1", "camera"))
    assert not keys.is_stage_slots(keys.seats("e1", "attendee"))
    assert not keys.is_stage_slots(keys.live_events("a1"))


def test_every_per_event_key_is_listed_for_deletion():
    """Deleting an event deletes `keys.event_keys`: a per-event builder missing there would
    leave its data behind forever."""
    listed = set(keys.event_keys("A", pools=["B"], sources=["B"], image_kinds=["B"]))
    per_event = {n: v for n, v in BUILT.items() if v.startswith("ev:A:")}
    assert len(per_event) > 30
    assert {n for n, v in per_event.items() if v not in listed} == set()
    assert all(k.startswith("ev:A:") for k in listed)


def test_every_per_account_key_is_listed_for_erasure():
    """Erasing a (secondary) account deletes `keys.account_keys`: a per-account builder
    missing there would leave its data behind."""
    listed = set(keys.account_keys("A"))
    per_account = {v for v in BUILT.values() if v.startswith("acc:A:")}
    assert per_account and per_account <= listed
