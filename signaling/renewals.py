"""The renewal loop at the edge: every `Config.billing_every` seconds, each node runs the
cycle ends reached by its clock (`room.accounts.renewal.renew_all`, safe on every node at
once) and mails the invoices through the outbox. A store outage is logged once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from room.accounts.invoices import Invoice
from room.accounts.renewal import renew_all
from signaling.context import KEY, Tribune
from signaling.http.team import purge_with
from signaling.outage import OutageLog
from signaling.socket.audience import AUDIENCE

log = logging.getLogger(__name__)


async def renew_now(app: web.Application) -> list[Invoice]:
    """One pass at the server's clock (the loop's step; tests may call it)."""
    t: Tribune = app[KEY]
    quiet = OutageLog(log, "renewals")

    def failed(account_id: str, exc: Exception) -> None:
        quiet.report(exc, "renewing the account %s failed", account_id)

    made = await renew_all(
        t.store,
        t.biller,
        t.config.prices,
        t.clock.now(),
        app[AUDIENCE].outbox,
        failed,
        purge=purge_with(t),
    )
    return made


def setup(app: web.Application) -> None:
    """Run the loop while the app runs (after the audience side: it mails through its
    outbox)."""

    async def loop() -> None:
        t: Tribune = app[KEY]
        quiet = OutageLog(log, "renewals")
        while True:
            await asyncio.sleep(t.config.billing_every)
            try:
                await renew_now(app)
                quiet.answered()
            except Exception as exc:
                quiet.report(exc, "the renewal pass failed")

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(lifespan)
