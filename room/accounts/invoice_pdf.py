"""An invoice as a PDF (reportlab), drawn again from the record whenever it is asked for."""

from __future__ import annotations

import datetime as dt
import io

from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]

from room.accounts.invoices import Invoice, money
from room.records import Account


def _day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d")


def _latin(text: str) -> str:
    """The built-in PDF fonts draw Latin-1: anything else becomes '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")[:90]


def render(invoice: Invoice, account: Account) -> bytes:
    buf = io.BytesIO()
    width, height = A4
    c = Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle(f"Invoice {invoice.label}")
    c.setAuthor("Tribune")
    left, y = 56, height - 72
    c.setFont("Helvetica-Bold", 20)
    c.drawString(left, y, f"Invoice {invoice.label}")
    c.setFont("Helvetica", 10)
    y -= 28
    paid = f" ({_day(invoice.paid_at)})" if invoice.paid_at else ""
    facts = [
        ("Account", f"{_latin(account.name)} ({account.id})"),
        ("Issued", _day(invoice.issued_at)),
        ("Period", f"{_day(invoice.period_start)} to {_day(invoice.period_end)}"),
        ("Reason", invoice.reason.value),
        ("Status", invoice.status.value + paid),
    ]
    for label, value in facts:
        c.drawString(left, y, f"{label}:")
        c.drawString(left + 80, y, value)
        y -= 15
    y -= 20
    c.setFont("Helvetica-Bold", 10)
    columns = (left, left + 270, left + 330, left + 420)
    for x, head in zip(columns, ("Item", "Qty", "Unit", "Amount"), strict=True):
        c.drawString(x, y, head)
    c.line(left, y - 4, width - left, y - 4)
    c.setFont("Helvetica", 10)
    y -= 20
    for line in invoice.lines:
        c.drawString(columns[0], y, _latin(line.description)[:48])
        c.drawString(columns[1], y, str(line.quantity))
        c.drawString(columns[2], y, money(line.unit_cents, invoice.currency))
        c.drawString(columns[3], y, money(line.amount_cents, invoice.currency))
        y -= 15
        if y < 100:
            c.showPage()
            c.setFont("Helvetica", 10)
            y = height - 72
    c.line(left, y + 8, width - left, y + 8)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(columns[2], y - 8, "Total")
    c.drawString(columns[3], y - 8, money(invoice.total_cents, invoice.currency))
    c.setFont("Helvetica", 8)
    c.drawString(left, 48, "Amounts in integer cents of one currency; Tribune records payments.")
    c.save()
    return buf.getvalue()
