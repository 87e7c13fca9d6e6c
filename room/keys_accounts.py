"""The store keys of accounts' purchases and team (issue 11), re-exported by `room.keys`:
use them as `keys.<name>` like every other key (tests/room/test_keys.py pins them there).
Stored data is found by these strings, so they never change."""

from __future__ import annotations

# -- team: secondary accounts --------------------------------------------------------------


def secondary_accounts(account_id: str) -> str:
    """Hash: a main account's secondary account ids -> b"1"."""
    return f"acc:{account_id}:secondary"


# -- billing: plans, add-ons and invoices ----------------------------------------------------

INVOICE_SEQ = "invoices:seq"
"""Counter: the last invoice number given (`Store.incr`, one sequence per installation)."""
INVOICE_NUMBERS = "invoices:numbers"
"""Hash: invoice number -> "account_id|invoice_id" (`tribune billing paid NUMBER`)."""


def account_addons(account_id: str) -> str:
    """Hash: add-on id -> `catalogue.AddOn` (the account's purchases in effect)."""
    return f"acc:{account_id}:addons"


def account_invoices(account_id: str) -> str:
    """Hash: invoice id -> `invoices.Invoice`."""
    return f"acc:{account_id}:invoices"


# -- the credits plan -------------------------------------------------------------------------


def credit_balances(account_id: str) -> str:
    """Hash: "pool" -> the unallocated credits, "client:{id}" -> a client's balance,
    "used:{id}" -> the credits a client's registrations consumed (integers as text)."""
    return f"acc:{account_id}:credits"


def credit_clients(account_id: str) -> str:
    """Hash: client id -> `credit_ledger.Client`."""
    return f"acc:{account_id}:clients"


def credit_ledger(account_id: str) -> str:
    """List: a `credit_ledger.LedgerEntry` per purchase, allocation and consumption."""
    return f"acc:{account_id}:ledger"


# -- their mails' idempotency keys (fields of `keys.MAIL_KEYS`) ------------------------------


def secondary_mail(account_id: str) -> str:
    """The welcome of a new secondary account's owner."""
    return f"secondary:{account_id}"


def invoice_mail(invoice_id: str) -> str:
    """An invoice mailed to the account's owner (billing)."""
    return f"invoice:{invoice_id}"
