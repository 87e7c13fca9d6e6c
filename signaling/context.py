"""What one running server holds: config, store, tokens, the hub and the media plane."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from room.accounts.biller import Biller, InvoiceOnly
from room.accounts.clock import Clock
from room.permissions import page_of
from room.records import Invitation
from room.store import Store
from signaling.config import Config
from signaling.tokens import Tokens

if TYPE_CHECKING:
    from signaling.socket.hub import Hub
    from signaling.socket.media_plane import MediaPlane


@dataclass
class Tribune:
    config: Config
    store: Store
    tokens: Tokens = field(default_factory=lambda: Tokens("-" * 32))
    """Replaced at start-up by tokens signed with the configured or stored secret."""
    hub: Hub | None = None
    media: MediaPlane | None = None
    """This node's SFUs (set at start-up, like the hub)."""
    clock: Clock = field(default_factory=Clock)
    """What the billing rules read as now (tests put a `ManualClock` here)."""
    biller: Biller = field(default_factory=InvoiceOnly)
    """Who collects invoices' payments (`room.accounts.biller`): by default nobody, the
    operator records them (`tribune billing paid`)."""

    def url_for(self, inv: Invitation, token: str, page: str | None = None) -> str:
        """The link a person opens; the token rides in the fragment, never in server logs."""
        page = page or page_of(inv.role)
        return f"{self.config.base_url}/{page}/{inv.event_id}#t={token}"


KEY = web.AppKey("tribune", Tribune)


def tribune(request: web.Request) -> Tribune:
    return request.app[KEY]
