"""ICE server urls and the stage's slot layout."""

import pytest

from media.errors import NoFreeSlot
from media.forward import Feed
from media.keyframe import KeyframeRequester
from media.slots import Stage
from media.types import IceServer


def test_ice_server_parse() -> None:
    assert IceServer.parse("stun:stun.example.org:3478") == IceServer(
        urls=("stun:stun.example.org:3478",)
    )
    assert IceServer.parse("turn:bob:s%40cret@turn.example.org:3478?transport=udp") == IceServer(
        urls=("turn:turn.example.org:3478?transport=udp",), username="bob", credential="s@cret"
    )
    for bad in ("http://x", "turn:nocreds@host", "stun:"):
        with pytest.raises(ValueError):
            IceServer.parse(bad)


def test_stage_places_feeds_in_lowest_free_slot_of_their_kind() -> None:
    stage = Stage(video=2, audio=1)
    assert [(s.mid, s.kind) for s in stage.layout] == [
        ("0", "video"),
        ("1", "video"),
        ("2", "audio"),
    ]

    def feed(kind: str) -> Feed:
        return Feed(
            "p", "camera" if kind == "video" else "mic", kind, KeyframeRequester(lambda: True)
        )  # type: ignore[arg-type]

    cam1, cam2, cam3, mic = feed("video"), feed("video"), feed("video"), feed("audio")
    assert stage.place(cam1) == 0 and stage.place(cam2) == 1 and stage.place(mic) == 2
    with pytest.raises(NoFreeSlot):
        stage.place(cam3)
    stage.remove(cam1)
    assert stage.place(cam3) == 0
    assert [t.mid for t in stage.tracks()] == ["0", "1", "2"]
