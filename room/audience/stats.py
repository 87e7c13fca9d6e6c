"""Statistics of an event over a time range, computed from its sessions (R-STAT-1, R-STAT-4).

Everything counts *visitors* (identities), not connections: each identity's
sessions are first merged into disjoint intervals, then cut to the range.
Pure computation over `SessionRecord`s; `event_stats` reads them from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

from room.audience import sessions
from room.audience.sessions import SessionKind, SessionRecord, Visit, merge
from room.errors import invalid
from room.records import Event, now
from room.store import Store
from room.types import EventState

BUCKETS = 120
"""Points in the concurrency-over-time series."""

NO_GEOIP = (
    "geography is unavailable: no GeoIP database is configured "
    "(start the server with --geoip PATH to a MaxMind .mmdb file)"
)


class Peak(msgspec.Struct):
    count: int
    at: float | None
    """When the peak was first reached."""


class Figures(msgspec.Struct):
    """One format's figures (live or replay)."""

    visitors: int
    seconds: float
    peak: int = 0
    """The most identities watching in this format at once."""
    average_seconds: float = 0.0
    """Mean per visitor of this format of the time he watched in it."""


class LanguageCount(msgspec.Struct):
    language: str
    visitors: int


class CountryCount(msgspec.Struct):
    country: str
    visitors: int


class Series(msgspec.Struct):
    """Concurrency over time: the highest count in each of equal slices from `start`."""

    start: float
    step: float
    values: list[int]


class StatsEvent(msgspec.Struct):
    """The event the statistics are of."""

    id: str
    title: str
    state: EventState


class Statistics(msgspec.Struct, omit_defaults=True):
    """The figures of one time range."""

    from_: float = msgspec.field(name="from")
    to: float
    visitors: int
    sessions: int
    online: int
    peak: Peak
    average_seconds: float
    total_seconds: float
    formats: dict[str, Figures]
    """Keyed by `SessionKind` value: live, replay."""
    languages: list[LanguageCount]
    concurrency: Series
    geography: list[CountryCount] | None
    """None when no GeoIP database is configured."""
    geography_note: str | None
    event: StatsEvent | None = None
    """Set by `event_stats`; absent from `compute`'s own figures."""


@dataclass(frozen=True)
class Span:
    """The time range statistics are computed over, [start, end)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise invalid("the time range must be finite", "from")
        if self.end < self.start:
            raise invalid("the time range ends before it starts", "to")


def default_span(event: Event, records: Iterable[SessionRecord | Visit], at: float) -> Span:
    """The whole event: from its start (or first session) to its end (or now), and on to
    the last replay session once it has ended."""
    first: float | None = None
    last: float | None = None
    for r in records:
        e = r.end if r.end is not None else at
        if first is None or r.start < first:
            first = r.start
        if last is None or e > last:
            last = e
    candidates = [t for t in (event.started_at, first) if t is not None]
    start = min(candidates) if candidates else event.created
    end = event.ended_at if event.ended_at is not None else at
    if last is not None and event.ended_at is not None:
        end = max(end, last)
    return Span(start, max(start, end))


def compute(
    records: Iterable[SessionRecord | Visit],
    span: Span,
    *,
    at: float,
    geo: bool,
    buckets: int = BUCKETS,
) -> Statistics:
    """The statistics of `records` within `span`; open sessions run until `at`.

    - visitors: identities with any time in the range;
    - peak: the most identities connected at once, and when that was first reached;
    - average_seconds: mean per visitor of the merged time spent in the range;
    - formats: visitors and seconds watched live and as replay;
    - languages / geography: visitors by the language / country of their first session.
    """
    lo, hi = span.start, span.end
    # identity -> [(start, end, format, language, country)], cut to the range. The loop
    # is written flat on purpose: it runs once per session (100,000 in the benchmark).
    spans: dict[str, list[tuple[float, float, SessionKind, str, str]]] = {}
    online: set[str] = set()
    session_count = 0
    live_now = lo <= at <= hi
    for r in records:
        s = r.start
        e = r.end
        if e is None:
            e = at if at > s else s
            if live_now:
                online.add(r.identity)
        if s >= hi or e < lo or (e == lo and s < lo):
            continue
        session_count += 1
        if s < lo:
            s = lo
        if e > hi:
            e = hi
        part = (s, e, r.format, r.language, r.country)
        lst = spans.get(r.identity)
        if lst is None:
            spans[r.identity] = [part]
        else:
            lst.append(part)
    online.intersection_update(spans)

    total_seconds = 0.0
    points: list[tuple[float, int]] = []
    fmt_visitors: Counter[str] = Counter()
    fmt_seconds: dict[str, float] = {f.value: 0.0 for f in SessionKind}
    fmt_points: dict[str, list[tuple[float, int]]] = {f.value: [] for f in SessionKind}
    languages: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for parts in spans.values():
        parts.sort()
        first = parts[0]
        languages[first[3]] += 1
        countries[first[4]] += 1
        kind = first[2]
        mixed = False
        seconds = 0.0
        mine: list[tuple[float, int]] = []
        cur_a, cur_b = first[0], first[1]
        for s, e, f, _, _ in parts:
            if f is not kind:
                mixed = True
            if s <= cur_b:
                if e > cur_b:
                    cur_b = e
            else:
                seconds += cur_b - cur_a
                if cur_b > cur_a:
                    mine.append((cur_a, 1))
                    mine.append((cur_b, -1))
                cur_a, cur_b = s, e
        seconds += cur_b - cur_a
        if cur_b > cur_a:
            mine.append((cur_a, 1))
            mine.append((cur_b, -1))
        points += mine
        total_seconds += seconds
        if not mixed:
            fmt_visitors[kind.value] += 1
            fmt_seconds[kind.value] += seconds
            fmt_points[kind.value] += mine
            continue
        for fmt in {p[2] for p in parts}:
            fmt_visitors[fmt.value] += 1
            spans_of = merge((p[0], p[1]) for p in parts if p[2] is fmt)
            fmt_seconds[fmt.value] += sum(b - a for a, b in spans_of)
            for a, b in spans_of:
                if b > a:
                    fmt_points[fmt.value] += ((a, 1), (b, -1))

    # Leaving sorts before joining at the same instant: a hand-over is not a peak.
    points.sort()
    peak, peak_at, series = _sweep(points, lo, hi, buckets)
    visitors = len(spans)
    geography = None
    if geo:
        geography = [CountryCount(k, v) for k, v in sorted(countries.items(), key=_by_count)]
    return Statistics(
        from_=lo,
        to=hi,
        visitors=visitors,
        sessions=session_count,
        online=len(online),
        peak=Peak(peak, peak_at),
        average_seconds=total_seconds / visitors if visitors else 0.0,
        total_seconds=total_seconds,
        formats={
            f.value: _figures(f.value, fmt_visitors, fmt_seconds, fmt_points) for f in SessionKind
        },
        languages=[LanguageCount(k, v) for k, v in sorted(languages.items(), key=_by_count)],
        concurrency=series,
        geography=geography,
        geography_note=None if geo else NO_GEOIP,
    )


def _figures(
    fmt: str,
    visitors: Counter[str],
    seconds: dict[str, float],
    points: dict[str, list[tuple[float, int]]],
) -> Figures:
    """One format's figures; its peak from its own joins and leaves (leaving first at the
    same instant, as for the whole)."""
    mine = sorted(points[fmt])
    cur = peak = 0
    for _, delta in mine:
        cur += delta
        peak = max(peak, cur)
    n = visitors[fmt]
    return Figures(n, seconds[fmt], peak, seconds[fmt] / n if n else 0.0)


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _sweep(
    points: list[tuple[float, int]], lo: float, hi: float, buckets: int
) -> tuple[int, float | None, Series]:
    """Peak concurrency, the first time it was reached, and the highest concurrency in
    each of `buckets` equal slices of [lo, hi): the count at the slice's start, or just
    after any join inside it."""
    n = max(1, buckets) if hi > lo else 1
    width = (hi - lo) / n if hi > lo else 0.0
    scale = 1 / width if width else 0.0
    values = [0] * n
    cur = peak = 0
    peak_at: float | None = None
    edge_index = 1
    edge = lo + width if width else hi
    last = n - 1
    for t, delta in points:
        # slices that started before t open with the count in force since the last event
        while edge < t and edge_index <= last:
            if values[edge_index] < cur:
                values[edge_index] = cur
            edge_index += 1
            edge = lo + edge_index * width
        cur += delta
        if delta > 0:
            if cur > peak:
                peak, peak_at = cur, t
            b = int((t - lo) * scale)
            if b > last:
                b = last
            if values[b] < cur:
                values[b] = cur
    return peak, peak_at, Series(lo, width, values)


THREAD_ABOVE = 5000
"""Sessions beyond which the computation runs in a worker thread, so the loop keeps serving."""


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Building 100,000 small tuples makes the cyclic collector walk the heap again and
    again for nothing (none of them forms a cycle); pausing it saves a quarter of the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _compute_quietly(
    records: list[SessionRecord | Visit], span: Span, at: float, geo: bool
) -> Statistics:
    with _gc_paused():
        return compute(records, span, at=at, geo=geo)


async def event_stats(
    store: Store,
    event: Event,
    *,
    start: float | None = None,
    end: float | None = None,
    geo: bool,
    at: float | None = None,
) -> Statistics:
    """Statistics of an event over [start, end) (default: the whole event so far)."""
    at = now() if at is None else at
    with _gc_paused():
        records = await sessions.visits(store, event.id)
    whole = default_span(event, records, at)
    span = Span(whole.start if start is None else start, whole.end if end is None else end)
    if len(records) > THREAD_ABOVE:
        out = await asyncio.to_thread(_compute_quietly, records, span, at, geo)
    else:
        out = compute(records, span, at=at, geo=geo)
    out.event = StatsEvent(event.id, event.title, event.state)
    return out


def summary_lines(stats: Statistics) -> list[str]:
    """The main figures as plain text lines (thank-you mails, exports)."""
    peak = stats.peak
    formats = stats.formats
    lines = [
        f"Visitors: {stats.visitors}",
        f"Peak concurrent: {peak.count}" + (f" at {_clock(peak.at)}" if peak.at else ""),
        f"Average visit: {_minutes(stats.average_seconds)}",
        f"Watched live: {formats[SessionKind.LIVE.value].visitors}",
        f"Watched the replay: {formats[SessionKind.REPLAY.value].visitors}",
    ]
    if stats.languages:
        langs = ", ".join(f"{x.language or 'unknown'} {x.visitors}" for x in stats.languages[:5])
        lines.append(f"Languages: {langs}")
    return lines


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes else f"{round(seconds)} s"


def _clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
