"""Server configuration: one dataclass, filled from flags and their TRIBUNE_* twins."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from moderation.limits import LIMITS, Limits
from room.accounts.prices import PriceList, load_prices
from room.ratelimit import RATES, Backoff, Rate
from signaling.forwarded import Network, networks


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./data"
    redis_url: str | None = None
    public_url: str | None = None
    """Base URL printed in links; defaults to http://host:port."""
    secret: str | None = None
    grace: float = 30.0
    """Seconds a disconnected person keeps seat, role, hand and stage slot."""
    lease_ttl: float = 20.0
    """Seconds a connected person's lease lasts unless its node renews it."""
    renew_every: float = 5.0
    sweep_every: float = 1.0
    count_every: float = 1.0
    """The audience's roster count is coalesced to at most one update per this many seconds."""
    ws_compression: bool = False
    send_queue: int = 1000
    """Packets a connection may have waiting to be sent; past it the connection is closed
    as a slow consumer (`connection.closing {reason: "slow_consumer"}`; 0: no bound)."""
    max_message: int = 2 * 1024 * 1024
    rate_per_second: float = 20.0
    rate_burst: float = 40.0
    ice_servers: list[str] = field(default_factory=list)
    media_host: str | None = None
    """Interface for media (ICE host candidates); defaults to --host unless that is a wildcard."""
    media_lease: float = 3.0
    """Seconds a node's heartbeat and its media ownership last unless renewed."""
    media_workers: int = 1
    """Media worker processes (`--media-workers`): 1 runs the SFUs in the server's own
    process; N ≥ 2 in N processes, each publisher's frames relayed to all of them."""
    media_every: float = 1.0
    """Seconds between heartbeats (and checks for events whose owner died)."""
    snapshot_every: float = 5.0
    smtp_url: str | None = None
    """Send mail through this SMTP server; without it, mail is written to <data-dir>/outbox."""
    geoip_path: str | None = None
    """A MaxMind .mmdb file for the statistics' geography; without it there is none."""
    mail_from: str = "tribune@localhost"
    trusted_proxies: list[str] = field(default_factory=list)
    """Networks (CIDR) of reverse proxies whose X-Forwarded-For names the client."""
    login_backoff: Backoff = RATES.login_backoff
    """How failed passwords slow the next sign-ins of an account (`room.ratelimit`)."""
    identity_rate: Rate = RATES.identity_per_ip
    """New identities a client address may get on shared links (`room.presence.identities`)."""
    address_ban: float = 3600.0
    """Seconds a ban also refuses new identities to the banned person's address (0: never)."""
    max_questions_per_event: int = LIMITS.questions_per_event
    """Questions one event keeps at most; past it, asking is refused (`limit_reached`)."""
    max_chat_per_event: int = LIMITS.chat_per_event
    """Chat messages one event keeps at most; past it, sending is refused (`limit_reached`)."""
    drain_timeout: float = 30.0
    """Seconds a draining node (SIGTERM) waits for its connections to leave before it exits."""
    metrics_token: str | None = None
    """Bearer token `GET /metrics` requires; without one the route answers 404."""
    prices_file: str | None = None
    """The price list (TOML, `room.accounts.prices`); None: the embedded example prices."""
    billing_every: float = 30.0
    """Seconds between two passes of the renewal loop (`signaling.renewals`)."""
    proxy_networks: tuple[Network, ...] = field(init=False, repr=False, default=())
    prices: PriceList = field(init=False, repr=False)
    """The price list read from `prices_file` (`ValueError` when it is not one)."""

    def recording_dir(self, event_id: str, recording_id: str = "") -> Path:
        """Where an event's recordings (or one of them: its parts' files, manifests and MP4
        export) are on disk: `<data_dir>/recordings/<event>/<recording>/`."""
        path = Path(self.data_dir) / "recordings" / event_id
        return path / recording_id if recording_id else path

    def __post_init__(self) -> None:
        self.proxy_networks = networks(self.trusted_proxies)
        self.prices = load_prices(self.prices_file)

    @property
    def limits(self) -> Limits:
        """Moderation's numbers, with the caps these flags set."""
        return replace(
            LIMITS,
            questions_per_event=self.max_questions_per_event,
            chat_per_event=self.max_chat_per_event,
        )

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"
