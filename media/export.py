"""The MP4 export worker: `python -m media.export PLAN.json`, run in a process of its own.

It decodes a recording's WebM tracks (`media.export_plan.Plan`), composes one picture
per output frame (`media.export_video`), mixes every audio track
(`media.export_audio`) and encodes one MP4: H.264 (libx264) when this PyAV build has
it, else the best MP4 video codec it has; AAC sound. Re-encoding is fine here: this
is off the live path, and the process lowers its own priority (`nice`).

It reports on stdout, one line each: `progress 0.42` whenever another percent is done,
then `done <bytes>`. On a fault it writes `error: <why>` on stderr and exits 1. The
MP4 is written beside the plan's `out` and moved there only once complete.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from media.export_audio import BLOCK, RATE, AudioSource, Mixer
from media.export_plan import Plan, Schedule, load
from media.export_video import Composer, VideoSource

VIDEO_CODECS = ("libx264", "libopenh264", "h264", "mpeg4")
"""MP4 video encoders, best first."""


class ExportError(Exception):
    """A fault the worker reports as its error."""


def video_codec() -> str:
    """The best MP4 video encoder this PyAV build has."""
    for name in VIDEO_CODECS:
        try:
            av.codec.Codec(name, "w")
        except Exception:
            continue
        return name
    raise ExportError("no MP4 video encoder in this build of PyAV")


def _open_sources(plan: Plan) -> tuple[dict[str, VideoSource], list[AudioSource]]:
    for track in plan.tracks:
        if not Path(track.file).is_file():
            raise ExportError(f"missing track file {Path(track.file).name}")
    for cue in plan.slides:
        if cue.image and not Path(cue.image).is_file():
            raise ExportError(f"missing slide image {Path(cue.image).name}")
    videos = {t.file: VideoSource(t) for t in plan.tracks if t.kind == "video"}
    audios = [AudioSource(t) for t in plan.tracks if t.kind == "audio"]
    return videos, audios


def export(plan: Plan, report: Callable[[float], None]) -> int:
    """Write the plan's MP4; returns its size in bytes."""
    videos, audios = _open_sources(plan)
    out = Path(plan.out)
    part = out.with_name(out.name + ".part")
    container: Any = av.open(str(part), "w", format="mp4")
    try:
        _encode(plan, container, videos, audios, report)
    except BaseException:
        container.close()
        part.unlink(missing_ok=True)
        raise
    finally:
        for video in videos.values():
            video.close()
        for audio in audios:
            audio.close()
    container.close()
    part.replace(out)
    return out.stat().st_size


def _encode(
    plan: Plan,
    container: Any,
    videos: dict[str, VideoSource],
    audios: list[AudioSource],
    report: Callable[[float], None],
) -> None:
    codec = video_codec()
    video: Any = container.add_stream(codec, rate=plan.fps)
    video.width, video.height, video.pix_fmt = plan.width, plan.height, "yuv420p"
    if codec == "libx264":
        video.options = {"preset": "veryfast", "crf": "23"}
    audio: Any = container.add_stream("aac", rate=RATE)
    audio.layout = "stereo"
    schedule = Schedule(plan)
    composer = Composer(videos, plan.width, plan.height)
    mixer = Mixer(audios)
    total = max(1, math.ceil(plan.duration * plan.fps))
    time_base = Fraction(1, plan.fps)
    done = 0
    for i in range(total):
        t = i / plan.fps
        frame = composer.frame(schedule.at(t), t)
        frame.pts, frame.time_base = i, time_base
        container.mux(video.encode(frame))
        while mixer.position + BLOCK <= (i + 1) * RATE / plan.fps:
            container.mux(audio.encode(mixer.block()))
        if (percent := (i + 1) * 100 // total) > done:
            done = percent
            report(percent / 100)
    container.mux(video.encode(None))
    container.mux(audio.encode(None))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m media.export PLAN.json", file=sys.stderr)
        return 2
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        plan = load(Path(argv[0]))
        size = export(plan, lambda p: print(f"progress {p:.2f}", flush=True))
    except Exception as exc:  # every fault is reported as the job's error
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"done {size}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
