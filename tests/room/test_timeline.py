"""The timeline: which changes it keeps, whose view, in order, bounded, deleted with the event."""

from __future__ import annotations

import pytest

from room import changes, keys, timeline
from room.changes import Audience, Change
from room.store import Store


async def test_keeps_the_screen_view_of_questions_and_the_audience_view_of_slides(
    store: Store,
) -> None:
    await changes.record(
        store,
        Change(
            event_id="E",
            name="question.changed",
            payloads={
                Audience.STAFF: {"id": "q1", "question": {"votes": 3}},
                Audience.SCREEN: {"id": "q1", "question": {"text": "Why?"}},
            },
        ),
    )
    # A vote: staff and audience see it, the screen does not; nothing is kept.
    await changes.record(
        store,
        Change(
            event_id="E",
            name="question.changed",
            payloads={Audience.STAFF: {"id": "q1"}, Audience.AUDIENCE: {"id": "q1"}},
        ),
    )
    await changes.record(
        store,
        Change(
            event_id="E",
            name="slides.changed",
            payloads={Audience.STAFF: {"slides": 1}, Audience.AUDIENCE: {"slides": {"index": 2}}},
        ),
    )
    await changes.record(
        store, Change(event_id="E", name="chat.message", payloads={Audience.ALL: {"text": "hi"}})
    )
    await timeline.add(store, "E", timeline.SPEAKER, {"person": "p1"})

    entries = await timeline.read(store, "E")
    assert [e.kind for e in entries] == ["question.changed", "slides.changed", "media.speaker"]
    assert entries[0].data == {"id": "q1", "question": {"text": "Why?"}}
    assert entries[1].data == {"slides": {"index": 2}}
    assert entries[0].at <= entries[1].at <= entries[2].at

    middle = await timeline.read(store, "E", start=entries[1].at, end=entries[1].at)
    assert [e.kind for e in middle] == ["slides.changed"]


async def test_is_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline, "MAX_ENTRIES", 3)
    results = [
        await timeline.add(store, "E", timeline.SPEAKER, {"person": str(i)}) for i in range(5)
    ]
    assert results == [True, True, True, False, False]
    assert [e.data["person"] for e in await timeline.read(store, "E")] == ["0", "1", "2"]


async def test_is_one_of_the_event_keys(store: Store) -> None:
    await timeline.add(store, "E", timeline.SPEAKER, {"person": "p"})
    await store.delete(*keys.event_keys("E"))
    assert await timeline.read(store, "E") == []
