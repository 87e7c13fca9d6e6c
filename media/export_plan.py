"""The MP4 export's plan (what the worker is given, as JSON) and its schedule: which
picture is the main area and which camera is the speaker at each moment.

The plan is plain data made by the edge from a recording's record and the event's
timeline (`media` knows nothing of either): the recording's tracks with their files and
offsets, the active speaker's changes and the slide shown, each at its offset in seconds
from the recording's start.

The layout at a moment `t`: a screen share on stage, else the slide shown, is the main
area with the speaker's camera as a small inset; with neither, the speaker's camera
fills the frame. The speaker's camera: the camera of the person last named active
speaker, if it is recording then; else the camera shown before, while it lasts; else
the longest-recorded camera on stage then (no speaker was ever named: the fallback).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import msgspec


class PlanTrack(msgspec.Struct, frozen=True):
    kind: str
    """`video` or `audio`."""
    source: str
    """`camera`, `mic` or `screen`."""
    person: str
    file: str
    """The WebM file's absolute path."""
    started: float
    """Seconds from the recording's start to the track's first frame."""
    stopped: float | None = None

    def on(self, t: float) -> bool:
        end = math.inf if self.stopped is None else self.stopped
        return self.started <= t < end

    @property
    def span(self) -> float:
        return (math.inf if self.stopped is None else self.stopped) - self.started


class SpeakerCue(msgspec.Struct, frozen=True):
    at: float
    person: str
    """`""`: nobody speaks."""


class SlideCue(msgspec.Struct, frozen=True):
    at: float
    image: str
    """The slide image's path (PNG or JPEG); `""`: no slide from then on."""


class Plan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    out: str
    """Where the MP4 is written."""
    duration: float
    tracks: list[PlanTrack]
    speakers: list[SpeakerCue] = []
    slides: list[SlideCue] = []
    width: int = 1280
    height: int = 720
    fps: int = 25


def load(path: Path) -> Plan:
    plan = msgspec.json.decode(path.read_bytes(), type=Plan)
    if not (0 < plan.duration <= 24 * 3600) or plan.fps < 1 or plan.width < 16:
        raise ValueError("the plan's duration, size or rate is out of range")
    return plan


def dump(plan: Plan) -> bytes:
    return msgspec.json.encode(plan)


def _last(cues: list[SpeakerCue] | list[SlideCue], t: float) -> SpeakerCue | SlideCue | None:
    found = None
    for cue in cues:  # sorted by `at`
        if cue.at > t:
            break
        found = cue
    return found


class Layout(msgspec.Struct, frozen=True):
    main: PlanTrack | None = None
    """A screen share shown as the main area."""
    slide: str = ""
    """The slide image shown as the main area (no screen share)."""
    camera: PlanTrack | None = None
    """The speaker's camera: the inset, or the whole frame when no main area."""


class Schedule:
    """The layout at increasing moments (it remembers the camera shown before)."""

    def __init__(self, plan: Plan) -> None:
        self.videos = [t for t in plan.tracks if t.kind == "video"]
        self.speakers = sorted(plan.speakers, key=lambda c: c.at)
        self.slides = sorted(plan.slides, key=lambda c: c.at)
        self._camera: PlanTrack | None = None

    def at(self, t: float) -> Layout:
        screen = next((v for v in self.videos if v.source == "screen" and v.on(t)), None)
        slide = _last(self.slides, t)
        image = slide.image if isinstance(slide, SlideCue) and screen is None else ""
        self._camera = self._speaker_camera(t)
        return Layout(main=screen, slide=image, camera=self._camera)

    def _speaker_camera(self, t: float) -> PlanTrack | None:
        cameras = [v for v in self.videos if v.source != "screen" and v.on(t)]
        cue = _last(self.speakers, t)
        if isinstance(cue, SpeakerCue) and cue.person:
            own = next((c for c in cameras if c.person == cue.person), None)
            if own is not None:
                return own
        if self._camera is not None and self._camera in cameras:
            return self._camera
        return max(cameras, key=lambda c: c.span, default=None)


def decoded(container: Any, stream: Any) -> Iterator[Any]:
    """The frames of a recorded track's stream, in order; a damaged packet (the end of a
    part cut short by its node's death) is skipped, not fatal."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue
        yield from frames
