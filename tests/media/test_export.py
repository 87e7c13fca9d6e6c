"""The MP4 export worker on real WebM files: layout, mix, codecs, faults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from media.export import export
from media.export_plan import Plan, PlanTrack, Schedule, SlideCue, SpeakerCue, dump
from tests.media.recorded import write_audio, write_video

RED, GREEN, BLUE = (220, 0, 0), (0, 200, 0), (0, 0, 220)


def cam(
    person: str, file: Path, started: float, stopped: float, source: str = "camera"
) -> PlanTrack:
    return PlanTrack("video", source, person, str(file), started, stopped)


def frames_at(path: Path, times: list[float]) -> dict[float, Any]:
    """RGB arrays of the output's frames nearest these times."""
    out: dict[float, Any] = {}
    with av.open(str(path)) as f:
        for frame in f.decode(video=0):
            for t in times:
                if t not in out and float(frame.time) >= t:
                    out[t] = frame.to_ndarray(format="rgb24")
    return out


def colour(picture: Any, x: int, y: int) -> tuple[int, int, int]:
    """The median colour of a 20-pixel square around (x, y)."""
    patch = picture[y - 10 : y + 10, x - 10 : x + 10].reshape(-1, 3)
    r, g, b = np.median(patch, axis=0)
    return int(r), int(g), int(b)


def near(found: tuple[int, int, int], wanted: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(found, wanted, strict=True))


def test_the_layout_follows_speaker_screen_and_slides(tmp_path: Path) -> None:
    write_video(tmp_path / "a.webm", 6, color=GREEN)
    write_video(tmp_path / "b.webm", 6, (640, 360), color=BLUE)
    write_video(tmp_path / "s.webm", 2, (800, 600), color=RED)
    write_audio(tmp_path / "m.webm", 5)
    Image.new("RGB", (400, 300), (250, 250, 0)).save(tmp_path / "slide.png")
    plan = Plan(
        out=str(tmp_path / "out.mp4"),
        duration=6.0,
        tracks=[
            cam("alice", tmp_path / "a.webm", 0.0, 6.0),
            cam("bob", tmp_path / "b.webm", 0.0, 6.0),
            cam("bob", tmp_path / "s.webm", 4.0, 6.0, source="screen"),
            PlanTrack("audio", "mic", "alice", str(tmp_path / "m.webm"), 1.0, 6.0),
        ],
        speakers=[SpeakerCue(1.5, "bob")],
        slides=[SlideCue(2.5, str(tmp_path / "slide.png"))],
    )
    reported: list[float] = []
    size = export(plan, reported.append)
    out = tmp_path / "out.mp4"
    assert size == out.stat().st_size > 0 and reported[-1] == 1.0
    assert reported == sorted(reported) and len(reported) == 100
    assert not (tmp_path / "out.mp4.part").exists()
    with av.open(str(out)) as f:
        [video], [audio] = f.streams.video, f.streams.audio
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert abs(f.duration / 1e6 - 6.0) < 0.2
    shots = frames_at(out, [1.0, 2.0, 3.0, 5.0])
    centre, inset = (640, 360), (1280 - 16 - 160, 720 - 16 - 90)
    # Before any speaker: the longest camera (alice's, first of equals) fills the frame.
    assert near(colour(shots[1.0], *centre), GREEN)
    # Bob speaks: his camera.
    assert near(colour(shots[2.0], *centre), BLUE)
    # A slide: the main area, with the speaker inset.
    assert near(colour(shots[3.0], *centre), (250, 250, 0))
    assert near(colour(shots[3.0], *inset), BLUE)
    # A screen share wins over the slide.
    assert near(colour(shots[5.0], *centre), RED)
    assert near(colour(shots[5.0], *inset), BLUE)
    # The tone starts at its offset: silence before it, sound after it.
    with av.open(str(out)) as f:
        sound = np.concatenate([fr.to_ndarray() for fr in f.decode(audio=0)], axis=1)
    assert np.abs(sound[:, :40_000]).max() < 0.01
    assert np.abs(sound[:, 60_000:200_000]).max() > 0.2


def test_without_speakers_the_camera_shown_stays_while_it_lasts() -> None:
    plan = Plan(
        out="x.mp4",
        duration=10,
        tracks=[cam("a", Path("a"), 0, 4), cam("b", Path("b"), 1, 10), cam("c", Path("c"), 2, 9)],
        speakers=[SpeakerCue(0.5, "nobody-with-a-camera")],
    )
    schedule = Schedule(plan)
    shown = [schedule.at(t).camera for t in (0.0, 2.0, 3.9, 4.0, 8.0)]
    assert [c.person if c else None for c in shown] == ["a", "a", "a", "b", "b"]


def test_a_missing_file_is_the_workers_error(tmp_path: Path) -> None:
    write_audio(tmp_path / "m.webm", 1)
    plan = Plan(
        out=str(tmp_path / "out.mp4"),
        duration=1.0,
        tracks=[
            cam("a", tmp_path / "gone.webm", 0, 1),
            PlanTrack("audio", "mic", "a", str(tmp_path / "m.webm"), 0, 1),
        ],
    )
    (tmp_path / "plan.json").write_bytes(dump(plan))
    done = subprocess.run(
        [sys.executable, "-m", "media.export", str(tmp_path / "plan.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "error: missing track file gone.webm"
    assert not list(tmp_path.glob("out.mp4*"))
