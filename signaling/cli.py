"""The `tribune` command: serve, accounts and billing (`cli_admin`). Every flag has a
TRIBUNE_* twin."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec
from aiohttp import web

from moderation.limits import LIMITS
from room.errors import TribuneError
from room.store_memory import StoreLocked
from signaling import cli_admin as admin
from signaling.app import build_app
from signaling.config import Config
from signaling.context import KEY
from signaling.demo import DemoLinks, ensure_demo
from signaling.drain import drain


def env(name: str, default: Any = None) -> Any:
    return os.environ.get("TRIBUNE_" + name, default)


def count(value: str) -> int:
    """A whole number >= 0 (argparse answers a clear error otherwise)."""
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return n


def env_flag(name: str) -> bool:
    return str(env(name, "")).lower() in ("1", "true", "yes", "on")


def _store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=env("DATA_DIR", "./data"),
        help="embedded store snapshot directory (env TRIBUNE_DATA_DIR; default ./data)",
    )
    p.add_argument(
        "--redis-url",
        default=env("REDIS_URL"),
        help="use the Redis store at this URL, e.g. redis://127.0.0.1:6379/0 "
        "(env TRIBUNE_REDIS_URL)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tribune", description="Tribune: a self-hosted real-time webinar room server."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the server")
    s.add_argument(
        "--host",
        default=env("HOST", "127.0.0.1"),
        help="interface to listen on (env TRIBUNE_HOST; default 127.0.0.1)",
    )
    s.add_argument(
        "--port",
        type=int,
        default=int(env("PORT", 8080)),
        help="port to listen on (env TRIBUNE_PORT; default 8080)",
    )
    _store_flags(s)
    s.add_argument(
        "--public-url",
        default=env("PUBLIC_URL"),
        help="the URL browsers open: used in printed links and as the one origin allowed to "
        "open Socket.IO connections (env TRIBUNE_PUBLIC_URL; default http://HOST:PORT)",
    )
    s.add_argument(
        "--secret",
        default=env("SECRET"),
        help="token signing secret; generated and kept in the store if unset (env TRIBUNE_SECRET)",
    )
    s.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="CIDR",
        default=[v.strip() for v in str(env("TRUSTED_PROXY", "")).split(",") if v.strip()],
        help="a reverse proxy's network, repeatable: only requests from these peers have "
        "their X-Forwarded-For believed, for the client's address that rate limits key on "
        "(env TRIBUNE_TRUSTED_PROXY, comma-separated; default none)",
    )
    s.add_argument(
        "--grace",
        type=float,
        default=float(env("GRACE", 30)),
        help="seconds a disconnected person keeps seat, role and hand "
        "(env TRIBUNE_GRACE; default 30)",
    )
    s.add_argument(
        "--address-ban",
        type=float,
        default=float(env("ADDRESS_BAN", 3600)),
        help="seconds a ban also refuses new identities on shared links to the banned "
        "person's address; 0 turns it off (env TRIBUNE_ADDRESS_BAN; default 3600)",
    )
    s.add_argument(
        "--max-questions-per-event",
        type=int,
        default=int(env("MAX_QUESTIONS_PER_EVENT", LIMITS.questions_per_event)),
        help="questions one event keeps at most; past it, asking is refused with "
        "limit_reached (env TRIBUNE_MAX_QUESTIONS_PER_EVENT; "
        f"default {LIMITS.questions_per_event})",
    )
    s.add_argument(
        "--max-chat-per-event",
        type=int,
        default=int(env("MAX_CHAT_PER_EVENT", LIMITS.chat_per_event)),
        help="chat messages one event keeps at most; past it, sending is refused with "
        f"limit_reached (env TRIBUNE_MAX_CHAT_PER_EVENT; default {LIMITS.chat_per_event})",
    )
    s.add_argument(
        "--ws-compression",
        action="store_true",
        default=env_flag("WS_COMPRESSION"),
        help="negotiate permessage-deflate on websockets; off by default because it "
        "costs ~4x memory per connection (env TRIBUNE_WS_COMPRESSION)",
    )
    s.add_argument(
        "--send-queue",
        type=count,
        default=int(env("SEND_QUEUE", 1000)),
        help="packets a connection may have waiting to be sent; past it the node closes it "
        "as a slow consumer and its page reconnects and resyncs; 0: no bound "
        "(env TRIBUNE_SEND_QUEUE; default 1000)",
    )
    s.add_argument(
        "--ice-server",
        action="append",
        default=[v for v in [env("ICE_SERVER")] if v],
        help="STUN/TURN server URL for media, repeatable (env TRIBUNE_ICE_SERVER)",
    )
    s.add_argument(
        "--media-host",
        default=env("MEDIA_HOST"),
        help="interface whose address media uses for ICE host candidates; defaults to --host "
        "unless that is a wildcard (env TRIBUNE_MEDIA_HOST)",
    )
    s.add_argument(
        "--media-workers",
        type=int,
        default=int(env("MEDIA_WORKERS", str(os.cpu_count() or 1))),
        help="media worker processes: 1 runs media in the server's own process; N >= 2 "
        "spreads each event's subscribers over N processes, relaying every publisher's "
        "frames between them (env TRIBUNE_MEDIA_WORKERS; default: the number of cores)",
    )
    s.add_argument(
        "--smtp-url",
        default=env("SMTP_URL"),
        help="send mail through this SMTP server, e.g. smtp://user:pass@host:587 or "
        "smtps://host; without it each message is written as an .eml file into "
        "<data-dir>/outbox (env TRIBUNE_SMTP_URL)",
    )
    s.add_argument(
        "--mail-from",
        default=env("MAIL_FROM", "tribune@localhost"),
        help="sender address of Tribune's mail (env TRIBUNE_MAIL_FROM; default tribune@localhost)",
    )
    s.add_argument(
        "--geoip",
        default=env("GEOIP"),
        help="MaxMind GeoIP2/GeoLite2 Country or City .mmdb file for the statistics' "
        "geography; without it there is none (env TRIBUNE_GEOIP)",
    )
    s.add_argument(
        "--drain-timeout",
        type=float,
        default=float(env("DRAIN_TIMEOUT", 30)),
        help="on SIGTERM, seconds to wait for the node's connections to move to other nodes "
        "before exiting (env TRIBUNE_DRAIN_TIMEOUT; default 30)",
    )
    s.add_argument(
        "--metrics-token",
        default=env("METRICS_TOKEN"),
        help="serve Prometheus metrics at /metrics to requests bearing this token "
        "(Authorization: Bearer TOKEN); without it /metrics answers 404 "
        "(env TRIBUNE_METRICS_TOKEN)",
    )
    s.add_argument(
        "--prices",
        default=env("PRICES"),
        metavar="FILE",
        help="the price list of add-ons, plans and credits (TOML, integer cents, one "
        "currency); without it the embedded example prices (env TRIBUNE_PRICES)",
    )
    s.add_argument(
        "--demo",
        action="store_true",
        default=env_flag("DEMO"),
        help="create a demo account and webinar and print a link for each role (env TRIBUNE_DEMO)",
    )
    s.add_argument(
        "--json",
        action="store_true",
        default=env_flag("JSON"),
        help="with --demo, print the links as one JSON line (env TRIBUNE_JSON)",
    )
    s.add_argument(
        "--log-level",
        default=env("LOG_LEVEL", "INFO"),
        help="logging level (env TRIBUNE_LOG_LEVEL; default INFO)",
    )

    admin.add_commands(sub, env, env_flag, _store_flags)
    return p


def config_from(args: argparse.Namespace) -> Config:
    return Config(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        redis_url=args.redis_url,
        public_url=args.public_url,
        secret=args.secret,
        grace=args.grace,
        address_ban=args.address_ban,
        max_questions_per_event=args.max_questions_per_event,
        max_chat_per_event=args.max_chat_per_event,
        ws_compression=args.ws_compression,
        send_queue=args.send_queue,
        ice_servers=list(args.ice_server or []),
        media_host=args.media_host,
        media_workers=max(1, args.media_workers),
        smtp_url=args.smtp_url,
        mail_from=args.mail_from,
        geoip_path=args.geoip,
        trusted_proxies=list(args.trusted_proxy or []),
        drain_timeout=args.drain_timeout,
        metrics_token=args.metrics_token or None,
        prices_file=args.prices,
    )


def print_links(info: DemoLinks, as_json: bool) -> None:
    if as_json:
        print(json.dumps(msgspec.to_builtins(info)), flush=True)
        return
    print(f"\nTribune demo — event {info.event_id}", flush=True)
    print(f"API key: {info.api_key}\n")
    width = max(len(r) for r in info.links)
    for role, url in info.links.items():
        print(f"  {role.ljust(width)}  {url}")
    print(flush=True)


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from(args)
    except ValueError as err:
        flag = "--prices" if args.prices and str(args.prices) in str(err) else "--trusted-proxy"
        print(f"error (invalid): {flag}: {err}", file=sys.stderr)
        return 2
    if config.secret is not None and len(config.secret.encode()) < 32:
        print("error (invalid): --secret must be at least 32 bytes long", file=sys.stderr)
        return 2
    app = build_app(config)

    # Filled by the app's startup: the demo needs the store open.
    demo_info: list[DemoLinks] = []
    if args.demo:

        async def demo(app: web.Application) -> AsyncIterator[None]:
            demo_info.append(await ensure_demo(app[KEY]))
            yield

        app.cleanup_ctx.append(demo)

    def ready(_: str) -> None:
        """Called once the socket listens: only then are the printed links usable."""
        if not args.json:
            print(f"Tribune listening on {config.base_url}", flush=True)
        if demo_info:
            print_links(demo_info[0], args.json)

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvloop is optional on other platforms
        pass
    # A server holding thousands of connections allocates many long-lived objects:
    # the default thresholds run full collections of its whole heap every few
    # seconds (~100 ms pauses at 1,000 attendees, the fan-out p99 tail). Collect
    # the young generation less often and keep start-up objects out of the scans.
    gc.set_threshold(50_000, 50, 100)
    gc.freeze()
    asyncio.run(run(app, config, ready))
    return 0


async def run(app: web.Application, config: Config, ready: Callable[[str], None]) -> None:
    """Serve until SIGINT (stop now) or SIGTERM (drain first: `signaling.drain`)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
        ready(config.base_url)
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[int] = loop.create_future()

        def received(signum: int) -> None:
            if not stop.done():
                stop.set_result(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, received, signum)
        if await stop == signal.SIGTERM:
            hub = app[KEY].hub
            if hub is not None:
                await drain(hub, config.drain_timeout)
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        return asyncio.run(admin.run(args))
    except TribuneError as err:
        print(f"error ({err.code.value}): {err.message}", file=sys.stderr)
        return 2
    except StoreLocked as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
