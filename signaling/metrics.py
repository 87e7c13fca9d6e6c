"""This node's figures in the Prometheus text format (`GET /metrics`, docs/api.md).

One registry per app, never prometheus-client's global one: tests run several servers in
one process. Counters move where things happen (refusals, fan-out messages, store
errors); what is a state (connections, events, seats, media) is read at scrape time:
connections and events from the hub, seats from the store, media through a `Collector`
over the node's SFUs.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from media import Sfu
from media.types import DELAY_BUCKETS
from room import keys
from room.store import Store
from room.types import SeatPool

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MediaCollector(Collector):
    """The node's SFUs, read when scraped (`Sfu.stats`)."""

    def __init__(self, sfus: Callable[[], Mapping[str, Sfu]]) -> None:
        self.sfus = sfus

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        peers = GaugeMetricFamily("tribune_media_peers", "Media peer connections", labels=["role"])
        packets = CounterMetricFamily("tribune_media_packets_forwarded", "RTP packets forwarded")
        octets = CounterMetricFamily("tribune_media_bytes_forwarded", "RTP payload bytes forwarded")
        keyframes = CounterMetricFamily(
            "tribune_media_keyframe_requests", "Keyframe requests sent to publishers"
        )
        totals = Tally[str]()
        counts = [0] * (len(DELAY_BUCKETS) + 1)
        delay_sum = 0.0
        for sfu in list(self.sfus().values()):
            s = sfu.stats()
            totals.update(
                publisher=s.publishers,
                subscriber=s.subscribers,
                packets=s.packets_forwarded,
                bytes=s.bytes_forwarded,
                keyframes=s.keyframe_requests,
            )
            counts = [a + b for a, b in zip(counts, s.delay_counts, strict=True)]
            delay_sum += s.delay_sum
        peers.add_metric(["publisher"], totals["publisher"])
        peers.add_metric(["subscriber"], totals["subscriber"])
        packets.add_metric([], totals["packets"])
        octets.add_metric([], totals["bytes"])
        keyframes.add_metric([], totals["keyframes"])
        cumulative, buckets = 0, []
        for bound, n in zip([*map(str, DELAY_BUCKETS), "+Inf"], counts, strict=True):
            cumulative += n
            buckets.append((bound, float(cumulative)))
        delay = HistogramMetricFamily(
            "tribune_media_forwarding_delay_seconds",
            "From a frame's last packet arriving to its packets being written",
            buckets=buckets,
            sum_value=delay_sum,
        )
        yield from (peers, packets, octets, keyframes, delay)


class Metrics:
    """The registry of one app and the metrics the edge moves."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=False)
        self.connections = Gauge(
            "tribune_connections", "Socket.IO connections on this node", ["namespace"], registry=r
        )
        self.live_events = Gauge(
            "tribune_live_events", "Events with a connection on this node", registry=r
        )
        self.seats = Gauge(
            "tribune_seats_in_use", "Seats held in the events of this node", ["pool"], registry=r
        )
        self.refusals = Counter(
            "tribune_refusals", "Refused actions, connections and requests", ["code"], registry=r
        )
        self.fanout = Counter(
            "tribune_fanout_messages", "Messages emitted by this node", ["namespace"], registry=r
        )
        self.store_seconds = Histogram(
            "tribune_store_seconds", "Store round trips (lease renewals, scrapes)", registry=r
        )
        self.slow_consumers = Counter(
            "tribune_slow_consumers",
            "Connections closed because their send queue was full (--send-queue)",
            registry=r,
        )
        self.store_errors = Counter(
            "tribune_store_errors", "Calls that failed to reach the store", registry=r
        )

    def media(self, sfus: Callable[[], Mapping[str, Sfu]]) -> None:
        """Read media figures from `sfus` at each scrape."""
        self.registry.register(MediaCollector(sfus))

    def refused(self, code: str) -> None:
        self.refusals.labels(code).inc()

    async def refresh(
        self, store: Store, sessions: Mapping[str, tuple[str, str]], namespaces: list[str]
    ) -> None:
        """Read the states: `sessions` maps each connection to (namespace, event id)."""
        by_ns = Tally(ns for ns, _ in sessions.values())
        for ns in namespaces:
            self.connections.labels(ns).set(by_ns[ns])
        events = {event_id for _, event_id in sessions.values()}
        self.live_events.set(len(events))
        held = Tally[str]()
        for event_id in events:
            for pool in SeatPool:
                started = time.monotonic()
                held[pool.value] += await store.slot_count(keys.seats(event_id, pool.value))
                self.store_seconds.observe(time.monotonic() - started)
        for pool in SeatPool:
            self.seats.labels(pool.value).set(held[pool.value])

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
