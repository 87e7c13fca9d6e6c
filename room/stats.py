"""Statistics of an event over a time range, computed from its sessions (R-STAT-1, R-STAT-4).

Everything counts *visitors* (identities), not connections: each identity's
sessions are first merged into disjoint intervals, then cut to the range.
Pure computation over `SessionRecord`s; `event_stats` reads them from the store.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from room import sessions
from room.errors import invalid
from room.records import Event, now
from room.sessions import Format, SessionRecord, merge
from room.store import Store

BUCKETS = 120
"""Points in the concurrency-over-time series."""

NO_GEOIP = (
    "geography is unavailable: no GeoIP database is configured "
    "(start the server with --geoip PATH to a MaxMind .mmdb file)"
)


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


def default_span(event: Event, records: Iterable[SessionRecord], at: float) -> Span:
    """The whole event: from its start (or first session) to its end (or now)."""
    starts = [r.start for r in records]
    first = min(starts) if starts else None
    candidates = [t for t in (event.started_at, first) if t is not None]
    start = min(candidates) if candidates else event.created
    end = event.ended_at if event.ended_at is not None else at
    if first is not None and event.ended_at is not None:
        # replay sessions come after the live event: the whole event includes them
        ends = [r.end if r.end is not None else at for r in records]
        end = max(end, max(ends))
    return Span(start, max(start, end))


def compute(
    records: Iterable[SessionRecord],
    span: Span,
    *,
    at: float,
    geo: bool,
    buckets: int = BUCKETS,
) -> dict[str, Any]:
    """The statistics of `records` within `span`; open sessions run until `at`.

    - visitors: identities with any time in the range;
    - peak: the most identities connected at once, and when that was first reached;
    - average_seconds: mean per visitor of the merged time spent in the range;
    - formats: visitors and seconds watched live and as replay;
    - languages / geography: visitors by the language / country of their first session.
    """
    lo, hi = span.start, span.end
    # identity -> [(start, end, format)], cut to the range
    spans: dict[str, list[tuple[float, float, Format]]] = {}
    first: dict[str, tuple[float, str, str]] = {}
    online: set[str] = set()
    session_count = 0
    for r in records:
        s = r.start
        e = r.end if r.end is not None else max(s, at)
        if s >= hi or e < lo or (e == lo and s < lo):
            continue
        session_count += 1
        s = max(s, lo)
        e = min(e, hi)
        ident = r.identity
        spans.setdefault(ident, []).append((s, e, r.format))
        f = first.get(ident)
        if f is None or s < f[0]:
            first[ident] = (s, r.language, r.country)
        if r.end is None and lo <= at < hi:
            online.add(ident)

    total_seconds = 0.0
    points: list[tuple[float, int]] = []
    fmt_visitors: Counter[str] = Counter()
    fmt_seconds: dict[str, float] = {f.value: 0.0 for f in Format}
    for parts in spans.values():
        merged = merge((s, e) for s, e, _ in parts)
        for a, b in merged:
            total_seconds += b - a
            if b > a:
                points.append((a, 1))
                points.append((b, -1))
        kinds = {f for _, _, f in parts}
        for kind in kinds:
            fmt_visitors[kind.value] += 1
            if len(kinds) == 1:
                fmt_seconds[kind.value] += sum(b - a for a, b in merged)
            else:
                fmt_seconds[kind.value] += sum(
                    b - a for a, b in merge((s, e) for s, e, f in parts if f is kind)
                )

    # Leaving before joining at the same instant: a hand-over is not a peak.
    points.sort()
    peak, peak_at, series = _sweep(points, lo, hi, buckets)
    visitors = len(spans)
    languages = Counter(lang for _, lang, _ in first.values())
    out: dict[str, Any] = {
        "from": lo,
        "to": hi,
        "visitors": visitors,
        "sessions": session_count,
        "online": len(online),
        "peak": {"count": peak, "at": peak_at},
        "average_seconds": total_seconds / visitors if visitors else 0.0,
        "total_seconds": total_seconds,
        "formats": {
            f.value: {"visitors": fmt_visitors[f.value], "seconds": fmt_seconds[f.value]}
            for f in Format
        },
        "languages": [
            {"language": k, "visitors": v} for k, v in sorted(languages.items(), key=_by_count)
        ],
        "concurrency": series,
    }
    if geo:
        countries = Counter(country for _, _, country in first.values())
        out["geography"] = [
            {"country": k, "visitors": v} for k, v in sorted(countries.items(), key=_by_count)
        ]
        out["geography_note"] = None
    else:
        out["geography"] = None
        out["geography_note"] = NO_GEOIP
    return out


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _sweep(
    points: list[tuple[float, int]], lo: float, hi: float, buckets: int
) -> tuple[int, float | None, dict[str, Any]]:
    """Peak concurrency, its first time, and the highest concurrency in each time bucket."""
    n = max(1, buckets) if hi > lo else 1
    width = (hi - lo) / n if hi > lo else 0.0
    values = [0] * n

    def bucket(t: float) -> int:
        if width == 0.0:
            return 0
        return min(n - 1, max(0, int((t - lo) / width)))

    def last_bucket_before(t: float) -> int:
        if width == 0.0:
            return 0
        return min(n - 1, max(0, math.ceil((t - lo) / width) - 1))

    cur = peak = 0
    peak_at: float | None = None
    prev = lo
    for t, delta in points:
        if t > prev and cur:
            for b in range(bucket(prev), last_bucket_before(t) + 1):
                if values[b] < cur:
                    values[b] = cur
        prev = max(prev, t)
        cur += delta
        if cur > peak:
            peak, peak_at = cur, t
        if delta > 0 and t < hi:
            b = bucket(t)
            if values[b] < cur:
                values[b] = cur
    return peak, peak_at, {"start": lo, "step": width, "values": values}


async def event_stats(
    store: Store,
    event: Event,
    *,
    start: float | None = None,
    end: float | None = None,
    geo: bool,
    at: float | None = None,
) -> dict[str, Any]:
    """Statistics of an event over [start, end) (default: the whole event so far)."""
    at = now() if at is None else at
    records = await sessions.all_sessions(store, event.id)
    whole = default_span(event, records, at)
    span = Span(whole.start if start is None else start, whole.end if end is None else end)
    out = compute(records, span, at=at, geo=geo)
    out["event"] = {"id": event.id, "title": event.title, "state": event.state.value}
    return out


def summary_lines(stats: dict[str, Any]) -> list[str]:
    """The main figures as plain text lines (thank-you mails, exports)."""
    peak = stats["peak"]
    lines = [
        f"Visitors: {stats['visitors']}",
        f"Peak concurrent: {peak['count']}" + (f" at {_clock(peak['at'])}" if peak["at"] else ""),
        f"Average visit: {_minutes(stats['average_seconds'])}",
        f"Watched live: {stats['formats']['live']['visitors']}",
        f"Watched the replay: {stats['formats']['replay']['visitors']}",
    ]
    if stats["languages"]:
        langs = ", ".join(
            f"{x['language'] or 'unknown'} {x['visitors']}" for x in stats["languages"][:5]
        )
        lines.append(f"Languages: {langs}")
    return lines


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes else f"{round(seconds)} s"


def _clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
