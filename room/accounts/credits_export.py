"""The credits ledger as a table for the one export engine (`room.audience.exports`): one row
per entry, oldest first; `credits` is always positive and `kind` says which way they moved
(purchase: into the pool; allocation: pool to client; consumption: client to used)."""

from __future__ import annotations

from room.accounts import credits
from room.audience.exports import Cell, Column, ColumnKind, Rows, Table
from room.store import Store

COLUMNS = [
    Column("at", ColumnKind.TIME),
    Column("kind"),
    Column("credits", ColumnKind.NUMBER),
    Column("client_id"),
    Column("client"),
    Column("reference"),
    Column("comment"),
    Column("event_id"),
    Column("registration_id"),
    Column("email"),
    Column("unit_cents", ColumnKind.NUMBER),
    Column("total_cents", ColumnKind.NUMBER),
    Column("currency"),
    Column("entry_id"),
]


def ledger_table(store: Store, account_id: str, at: float, client_id: str | None = None) -> Table:
    async def rows() -> Rows:
        names = {c.id: c.name for c in await credits.list_clients(store, account_id, at)}
        async for page in credits.ledger_pages(store, account_id, client_id):
            out: list[list[Cell]] = []
            for e in page:
                client = "" if e.client_id is None else names.get(e.client_id, "")
                out.append(
                    [
                        *(e.at, e.kind.value, e.credits, e.client_id, client, e.reference),
                        *(e.comment, e.event_id, e.registration_id, e.email, e.unit_cents),
                        *(e.total_cents, e.currency, e.id),
                    ]
                )
            yield out

    return Table("credits-ledger", COLUMNS, rows())
