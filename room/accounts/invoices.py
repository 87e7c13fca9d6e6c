"""Invoices (issue 11): every purchase and every renewal makes one, numbered in one
sequence per installation (`Store.incr`, atomic across nodes), with its lines, amounts,
currency and period, `due` until a payment is recorded (`paid`).

Payment is behind the `Biller` seam (`room.accounts.biller`); the PDF is drawn on demand
from the record (`room.accounts.invoice_pdf`); the owner is mailed through the outbox.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from room import cas, keys
from room.accounts import users
from room.accounts.biller import Biller
from room.audience.outbox import Outbox
from room.errors import invalid, not_found
from room.records import Account, decode, encode, new_id
from room.store import Store


class InvoiceStatus(StrEnum):
    DUE = "due"
    PAID = "paid"


class Reason(StrEnum):
    PURCHASE = "purchase"
    RENEWAL = "renewal"


class InvoiceLine(msgspec.Struct):
    description: str
    quantity: int
    unit_cents: int
    amount_cents: int
    kind: str = ""


class Invoice(msgspec.Struct):
    id: str
    number: int
    account_id: str
    reason: Reason
    lines: list[InvoiceLine]
    total_cents: int
    currency: str
    period_start: float
    period_end: float
    issued_at: float
    status: InvoiceStatus = InvoiceStatus.DUE
    paid_at: float | None = None
    payment_reference: str = ""
    """What the biller or the operator recorded with the payment."""
    checkout_url: str = ""
    """Where the owner pays, when a hosted checkout biller gives one."""

    @property
    def label(self) -> str:
        """The number as printed: INV-000042."""
        return f"INV-{self.number:06d}"


class InvoiceBrief(msgspec.Struct):
    """An invoice as a purchase answers it."""

    id: str
    number: int
    total_cents: int
    status: InvoiceStatus


def brief(invoice: Invoice) -> InvoiceBrief:
    return InvoiceBrief(invoice.id, invoice.number, invoice.total_cents, invoice.status)


async def issue(
    store: Store,
    biller: Biller,
    account: Account,
    reason: Reason,
    lines: list[InvoiceLine],
    currency: str,
    period: tuple[float, float],
    now: float,
) -> Invoice:
    """Number, record and hand to the biller a new invoice."""
    number = await store.incr(keys.INVOICE_SEQ)
    invoice = Invoice(
        id=new_id("inv"),
        number=number,
        account_id=account.id,
        reason=reason,
        lines=lines,
        total_cents=sum(line.amount_cents for line in lines),
        currency=currency,
        period_start=period[0],
        period_end=period[1],
        issued_at=now,
    )
    invoice = await biller.issued(invoice)
    await store.hset(keys.account_invoices(account.id), invoice.id, encode(invoice))
    await store.hset(keys.INVOICE_NUMBERS, str(number), f"{account.id}|{invoice.id}".encode())
    return invoice


async def account_invoices(store: Store, account_id: str) -> list[Invoice]:
    """The account's invoices, the newest first."""
    raws = (await store.hgetall(keys.account_invoices(account_id))).values()
    return sorted((decode(r, Invoice) for r in raws), key=lambda i: -i.number)


async def get_invoice(store: Store, account_id: str, invoice_id: str) -> Invoice:
    """One of the account's invoices; another account's is `not_found`."""
    raw = await store.hget(keys.account_invoices(account_id), invoice_id)
    if raw is None:
        raise not_found("invoice")
    return decode(raw, Invoice)


def parse_number(text: str) -> int:
    """An invoice number as the operator types it: 42, 000042 or INV-000042."""
    digits = text.strip().upper().removeprefix("INV-")
    if not digits.isdigit() or int(digits) < 1:
        raise invalid(f"not an invoice number: {text!r}", "number")
    return int(digits)


async def record_payment(store: Store, number: int, now: float, reference: str = "") -> Invoice:
    """Mark invoice `number` paid (`tribune billing paid NUMBER`, or a biller's callback).
    Paying a paid invoice changes nothing."""
    where = await store.hget(keys.INVOICE_NUMBERS, str(number))
    if where is None:
        raise not_found(f"invoice {number}")
    account_id, _, invoice_id = where.decode().partition("|")

    def apply(invoice: Invoice) -> None:
        if invoice.status is not InvoiceStatus.PAID:
            invoice.status = InvoiceStatus.PAID
            invoice.paid_at = now
            invoice.payment_reference = reference[:200]

    done = await cas.update(
        store,
        keys.account_invoices(account_id),
        invoice_id,
        Invoice,
        apply,
        missing=not_found(f"invoice {number}"),
        conflict="the invoice is being changed concurrently; try again",
    )
    return done.after


def money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


async def owner_email(store: Store, account_id: str) -> str | None:
    """The e-mail of the account's owner user; None when the account has none (it is
    run with its API key alone)."""
    for user in await users.account_users(store, account_id):
        if user.owner:
            return user.email
    return None


async def mail(store: Store, outbox: Outbox, account: Account, invoice: Invoice) -> bool:
    """Mail the invoice to the account's owner, once (idempotency key `invoice:<id>`);
    False when the account has no owner user to mail (nothing is queued)."""
    to = await owner_email(store, account.id)
    if to is None:
        return False
    lines = "\n".join(
        f"  {line.description} x {line.quantity}: {money(line.amount_cents, invoice.currency)}"
        for line in invoice.lines
    )
    text = (
        f"Hello,\n\nhere is invoice {invoice.label} of the Tribune account {account.name}"
        f" ({invoice.reason.value}).\n\n{lines}\n\n"
        f"Total: {money(invoice.total_cents, invoice.currency)} ({invoice.status.value})\n\n"
        "The PDF is on the dashboard's Billing page (/dashboard/billing).\n"
    )
    if invoice.checkout_url:
        text += f"Pay it here: {invoice.checkout_url}\n"
    subject = f"Tribune invoice {invoice.label}: {money(invoice.total_cents, invoice.currency)}"
    return await outbox.enqueue(keys.invoice_mail(invoice.id), to, subject, text)
