"""Statistics from hand-computed session fixtures: peak and its time, averages, merged
reconnects, live vs replay, languages, geography, and cutting to a time range."""

from __future__ import annotations

import pytest

from room import events as ev
from room import live
from room.accounts.account import create_account
from room.audience import sessions
from room.audience import stats as st
from room.audience.sessions import SessionKind, SessionRecord
from room.errors import TribuneError
from room.records import now


def rec(identity, start, end, lang="en", fmt=SessionKind.LIVE, country=""):
    return SessionRecord(
        id=f"s{start}{identity}",
        identity=identity,
        name=identity.upper(),
        email="",
        ip="",
        language=lang,
        country=country,
        start=start,
        end=end,
        format=fmt,
    )


RECORDS = [
    rec("a", 0, 100, country="FR"),
    rec("a", 120, 200),  # reconnect after 20 s
    rec("a", 150, 250),  # a second tab, overlapping
    rec("b", 50, 150, "fr", country="BE"),
    rec("c", 60, 90),
    rec("c", 90, 130),  # touching: one interval
    rec("d", 1000, 1300, "de", SessionKind.REPLAY, country="DE"),
    rec("e", 125, None, ""),  # still connected
]
AT = 300.0


def test_whole_event():
    s = st.compute(RECORDS, st.Span(0, 1300), at=AT, geo=False, buckets=13)
    assert s.visitors == 5
    assert s.sessions == 8
    assert s.online == 1
    assert s.peak == st.Peak(4, 125)
    # a: 100 + 130, b: 100, c: 70, d: 300, e: 175 (open, counted up to AT)
    assert s.total_seconds == 875
    assert s.average_seconds == 175
    assert s.formats == {
        "live": st.Figures(visitors=4, seconds=575, peak=4, average_seconds=575 / 4),
        "replay": st.Figures(visitors=1, seconds=300, peak=1, average_seconds=300),
    }
    assert s.languages == [
        st.LanguageCount("en", 2),
        st.LanguageCount("", 1),
        st.LanguageCount("de", 1),
        st.LanguageCount("fr", 1),
    ]
    assert s.concurrency == st.Series(
        start=0, step=100, values=[3, 4, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    )
    assert s.geography is None and "GeoIP" in s.geography_note


def test_time_range_cut():
    s = st.compute(RECORDS, st.Span(100, 200), at=AT, geo=False)
    # a's first session ends exactly at 100: outside. d is later.
    assert s.visitors == 4
    assert s.peak == st.Peak(4, 125)
    assert s.total_seconds == 80 + 50 + 30 + 75
    assert s.average_seconds == pytest.approx(235 / 4)
    assert s.formats["replay"] == st.Figures(visitors=0, seconds=0)
    s = st.compute(RECORDS, st.Span(130, 140), at=AT, geo=False)
    assert s.visitors == 3  # c left at 130
    assert s.peak == st.Peak(3, 130)
    s = st.compute(RECORDS, st.Span(400, 900), at=AT, geo=False)
    assert s.visitors == 0 and s.peak == st.Peak(0, None)
    assert s.average_seconds == 0 and s.online == 0


def test_reconnects_never_count_twice():
    many = [rec("a", i * 10, i * 10 + 9) for i in range(50)] + [rec("a", 0, 500)]
    s = st.compute(many, st.Span(0, 1000), at=AT, geo=False)
    assert s.visitors == 1 and s.peak.count == 1 and s.total_seconds == 500
    att = sessions.attendances(many, AT)
    assert list(att) == ["a"] and att["a"].intervals == [(0, 500)]


def test_each_format_has_its_own_peak_and_average():
    replay = SessionKind.REPLAY
    records = [
        rec("a", 0, 100),
        rec("b", 0, 50),
        rec("a", 200, 260, fmt=replay),  # watched live, then again as a replay
        rec("c", 210, 300, fmt=replay),
        rec("d", 220, 240, fmt=replay),
        rec("d", 240, 250, fmt=replay),  # a reconnect: one interval, never two people
        rec("e", 300, 330, fmt=replay),  # c left as e came: not three at once
    ]
    s = st.compute(records, st.Span(0, 400), at=AT, geo=False)
    assert s.formats["live"] == st.Figures(2, 150, peak=2, average_seconds=75)
    assert s.formats["replay"] == st.Figures(4, 60 + 90 + 30 + 30, peak=3, average_seconds=52.5)
    assert s.peak == st.Peak(3, 220)


def test_a_hand_over_at_the_same_instant_is_not_a_peak():
    s = st.compute([rec("a", 0, 10), rec("b", 10, 20)], st.Span(0, 20), at=AT, geo=False)
    assert s.peak == st.Peak(1, 0)


def test_geography_by_first_session_when_configured():
    s = st.compute(RECORDS, st.Span(0, 1300), at=AT, geo=True)
    assert s.geography_note is None
    assert s.geography == [
        st.CountryCount("", 2),
        st.CountryCount("BE", 1),
        st.CountryCount("DE", 1),
        st.CountryCount("FR", 1),
    ]


def test_span_must_make_sense():
    with pytest.raises(TribuneError):
        st.Span(10, 5)
    with pytest.raises(TribuneError):
        st.Span(0, float("inf"))


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en;q=0.5, de-CH", "de"),
        ("*", ""),
        ("", ""),
        ("zh-Hant-TW;q=0.7,xx;q=bad", "zh"),
        ("12-34", ""),
    ],
)
def test_primary_language(header, lang):
    assert sessions.primary_language(header) == lang


async def test_sessions_open_close_and_page_in_order(store):
    first = await sessions.open_session(store, "ev1", "sid1", "a", name="Ann", at=10.0)
    await sessions.open_session(store, "ev1", "sid2", "b", at=20.0)
    await sessions.open_session(store, "ev1", "sid3", "a", at=30.0)
    closed = await sessions.close_connection(store, "ev1", "sid1", at=15.0)
    assert closed is not None and closed.id == first.id and closed.end == 15.0
    assert await sessions.close_connection(store, "ev1", "sid1", at=99.0) is None  # once only
    assert [r.end for r in await sessions.close_identity(store, "ev1", "a", at=40.0)] == [40.0]
    seen = await sessions.visits(store, "ev1")  # two closed visits, and b still connected
    assert sorted((v.identity, v.start, v.end) for v in seen) == [
        ("a", 10.0, 15.0),
        ("a", 30.0, 40.0),
        ("b", 20.0, None),
    ]
    assert await sessions.close_all(store, "ev1", at=50.0) == 1
    seen = await sessions.visits(store, "ev1")
    assert sorted((v.identity, v.start, v.end) for v in seen) == [
        ("a", 10.0, 15.0),
        ("a", 30.0, 40.0),
        ("b", 20.0, 50.0),
    ]
    pages = [p async for p in sessions.pages(store, "ev1", page=2)]
    assert [[(r.identity, r.start, r.end) for r in p] for p in pages] == [
        [("a", 10.0, 15.0), ("b", 20.0, 50.0)],
        [("a", 30.0, 40.0)],
    ]
    assert await sessions.count(store, "ev1") == 3


async def test_a_session_recorded_after_the_end_closes_at_the_end(store):
    # A connection admitted just before event.end has its session written in the
    # background; when that lands after close_all ran, it must still close at the end.
    account, _ = await create_account(store, "Acme")
    event = await ev.create_event(store, account, ev.EventCreate(title="Late"))
    await live.start(store, event.id)
    await sessions.open_session(store, event.id, "sid-early", "a", at=now() - 5)
    assert not await sessions.close_if_ended(store, event.id, "sid-early")  # still live
    await live.end(store, event.id)
    ended = await ev.load_event(store, event.id)
    assert await sessions.close_all(store, event.id, at=ended.ended_at) == 1
    await sessions.open_session(store, event.id, "sid-late", "b")
    assert await sessions.close_if_ended(store, event.id, "sid-late")
    seen = {v.identity: v for v in await sessions.visits(store, event.id)}
    assert seen["a"].end == ended.ended_at
    assert seen["b"].end == seen["b"].start  # it began after the end: it lasted nothing
