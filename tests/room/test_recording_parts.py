"""A recording's parts in its record: noted while they run, closed when the next one
starts or the recording stops; the record's tracks and size are every part's."""

from __future__ import annotations

from typing import Any

from room import recordings
from room.store import Store


def manifest(part: int, size: int, *files: str) -> dict[str, Any]:
    tracks = [
        {"kind": "video", "codec": "VP8", "person": "p", "source": "camera", "file": f,
         "started": 0.0, "stopped": None, "frames": 9}
        for f in files
    ]  # fmt: skip
    return {"part": part, "size_bytes": size, "tracks": tracks}


async def test_parts_add_up_and_close(store: Store) -> None:
    rec = await recordings.begin(store, "ev_1", "auto", 100.0)
    assert await recordings.part_begun(store, "ev_1", rec.id, 1, 100.0) is not None
    await recordings.part_progress(store, "ev_1", rec.id, manifest(1, 500, "01-a.webm"), 102.0)
    mid = await recordings.get(store, "ev_1", rec.id)
    assert mid is not None and mid.size_bytes == 500 and mid.parts[0].stopped is None
    # its owner died: part 2 starts elsewhere, part 1 stops then
    await recordings.part_begun(store, "ev_1", rec.id, 2, 105.0)
    done = await recordings.finish(
        store, "ev_1", rec.id, manifest(2, 300, "p2-01-a.webm"), 300, 110.0
    )
    assert done is not None
    assert [(p.index, p.started, p.stopped, p.size_bytes) for p in done.parts] == [
        (1, 100.0, 105.0, 500),
        (2, 105.0, 110.0, 300),
    ]
    assert [(t.file, t.part) for t in done.tracks] == [("01-a.webm", 1), ("p2-01-a.webm", 2)]
    assert done.size_bytes == 800 and done.stopped_at == 110.0
    # a stopped recording takes no more parts, and stops once
    assert await recordings.part_begun(store, "ev_1", rec.id, 3, 111.0) is None
    assert await recordings.finish(store, "ev_1", rec.id, None, 0, 112.0) is None


async def test_a_recording_whose_last_owner_had_nothing_keeps_the_noted_parts(
    store: Store,
) -> None:
    rec = await recordings.begin(store, "ev_1", "someone", 0.0)
    await recordings.part_begun(store, "ev_1", rec.id, 1, 0.0)
    await recordings.part_progress(store, "ev_1", rec.id, manifest(1, 70, "01-a.webm"), 4.0)
    done = await recordings.finish(store, "ev_1", rec.id, None, 0, 9.0, "failed")
    assert done is not None and done.size_bytes == 70 and done.reason == "failed"
    assert [t.file for t in done.tracks] == ["01-a.webm"] and done.parts[0].stopped == 9.0
