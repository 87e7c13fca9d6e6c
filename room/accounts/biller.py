"""The payment seam (issue 11): whatever takes the money sits behind `Biller`.

Tribune fakes no card processing. The embedded default, `InvoiceOnly`, issues every
invoice as `due`; the operator records a payment received by other means (a bank
transfer, say) with `tribune billing paid INVOICE_NUMBER`
(`room.accounts.invoices.record_payment`).

A hosted checkout (a payment provider's page) plugs in as another `Biller`: its
`issued` creates a checkout session for the invoice's total and returns the invoice
with `checkout_url` set (mailed to the owner, shown on the Billing page); the
provider's webhook, verified at the edge, calls `record_payment` with the provider's
reference. See docs/api.md, "Invoices".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from room.accounts.invoices import Invoice


class Biller(Protocol):
    async def issued(self, invoice: Invoice) -> Invoice:
        """A new invoice, numbered and about to be stored: start collecting its payment;
        returns it as it should be stored (its status, a checkout URL)."""
        ...


class InvoiceOnly:
    """The embedded default: invoices are issued `due` and paid by the operator."""

    async def issued(self, invoice: Invoice) -> Invoice:
        return invoice
