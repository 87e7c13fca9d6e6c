"""MP4 exports of recordings (issue 12): this node's queue and the worker processes.

One `ExportRunner` per server process runs at most one export at a time, in a worker
process (`python -m media.export PLAN.json`, which lowers its own priority), the
others waiting in its queue. The plan is data made here from the recording's record,
the event's timeline (active speaker, slides) and the slide images (written as files
for the worker): `media` knows nothing of the store.

The worker's `progress` lines are written into the export's record
(`room.recording_exports`), with its size when done or its error when it fails. Every
`BEAT` seconds the runner tells the store it still holds its jobs. When the server
stops, its running and queued exports are marked failed (`interrupted`); when it dies
without a word, they count as interrupted once `STALE` seconds passed without one
(`room.recording_exports.seen`). An interrupted export is started anew on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
from aiohttp import web

import media
from media.export_plan import Plan, PlanTrack, SlideCue, SpeakerCue, dump
from moderation import slides
from room import recording_exports, recordings, timeline
from room.errors import TribuneError, not_found
from room.recording_exports import INTERRUPTED, Export
from room.recordings import Recording, RecordingState
from room.records import Event
from room.types import Role
from signaling.context import KEY, Tribune
from signaling.outage import OutageLog, is_store_outage

log = logging.getLogger(__name__)

BEAT = 10.0
"""Seconds between the runner's word on its jobs (well under `recording_exports.STALE`)."""
ROOT = Path(media.__file__).resolve().parent.parent
"""Where the worker's `media` package is imported from."""


class Job(msgspec.Struct, frozen=True):
    event_id: str
    recording_id: str
    role: Role
    """The asker's role: the slide images the export shows are those he may see."""


def folder(t: Tribune, event_id: str, recording_id: str) -> Path:
    return t.config.recording_dir(event_id, recording_id)


async def plan_for(t: Tribune, rec: Recording, role: Role, work: Path) -> Plan:
    """The worker's plan: the tracks, the active speaker's changes and the slides shown
    (their images written into `work`), at their offsets from the recording's start."""
    base = folder(t, rec.event_id, rec.id)
    tracks = [
        PlanTrack(tr.kind, tr.source, tr.person, str(base / tr.file), tr.started, tr.stopped)
        for tr in rec.tracks
    ]
    speakers: list[SpeakerCue] = []
    cues: list[SlideCue] = []
    images: dict[tuple[str, int], str] = {}
    for entry in await timeline.read(t.store, rec.event_id, end=rec.stopped_at):
        at = max(0.0, entry.at - rec.started_at)
        if entry.kind == timeline.SPEAKER:
            speakers.append(SpeakerCue(at, str(entry.data.get("person") or "")))
        elif entry.kind == "slides.changed":
            shown = entry.data.get("slides")
            image = ""
            if isinstance(shown, dict):
                page = (str(shown.get("deck", "")), int(shown.get("index", 0)))
                if page not in images:
                    images[page] = await _slide_file(t, rec.event_id, page, role, work)
                image = images[page]
            cues.append(SlideCue(at, image))
    return Plan(
        out=str(base / recording_exports.FILE),
        duration=rec.duration_s,
        tracks=tracks,
        speakers=speakers,
        slides=cues,
    )


async def _slide_file(
    t: Tribune, event_id: str, page: tuple[str, int], role: Role, work: Path
) -> str:
    """The slide image as a file for the worker; "" when it is gone (a later deck
    replaced it) or the asker may not see it: the export then shows no slide."""
    try:
        data = await slides.image(t.store, event_id, page[0], page[1], role)
    except TribuneError:
        return ""
    path = work / f"slide-{page[0]}-{page[1]}"
    await asyncio.to_thread(path.write_bytes, data)
    return str(path)


class ExportRunner:
    """This node's export queue: one worker process at a time."""

    def __init__(self, t: Tribune) -> None:
        self.t = t
        self.id = "run_" + secrets.token_hex(6)
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._held: dict[tuple[str, str], Job] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._quiet = OutageLog(log, "export runner")

    async def request(self, event: Event, recording_id: str, role: Role) -> Export:
        """The recording's export, queued here unless one is under way or done."""
        store = self.t.store
        rec = await recordings.get(store, event.id, recording_id)
        if rec is None:
            raise not_found("recording")
        stopped = rec.state is RecordingState.STOPPED
        now = await store.now()
        export, queued = await recording_exports.request(
            store,
            event.id,
            recording_id,
            stopped,
            lambda: recordings.space_for(store, event, now),
            self.id,
            now,
        )
        if queued:
            job = Job(event.id, recording_id, role)
            self._held[(event.id, recording_id)] = job
            self._queue.put_nowait(job)
        return export

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()), asyncio.create_task(self._beats())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for job in list(self._held.values()):  # while the store still answers: say so now
            await self._failed(job, INTERRUPTED)

    async def _beats(self) -> None:
        quiet = self._quiet
        while True:
            await asyncio.sleep(BEAT)
            try:
                now = await self.t.store.now()
                for event_id, recording_id in list(self._held):
                    await recording_exports.touch(
                        self.t.store, event_id, recording_id, self.id, now
                    )
                quiet.answered()
            except Exception as exc:
                quiet.report(exc, "the export runner's heartbeat failed")

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._quiet.report(exc, "export of %s failed", job.recording_id)
                outage = is_store_outage(exc)
                await self._failed(job, "unavailable" if outage else "internal")
            self._held.pop((job.event_id, job.recording_id), None)

    async def _failed(self, job: Job, error: str) -> None:
        with contextlib.suppress(Exception):
            now = await self.t.store.now()
            await recording_exports.failed(
                self.t.store, job.event_id, job.recording_id, self.id, error, now
            )

    async def _progress(self, job: Job, progress: float) -> None:
        now = await self.t.store.now()
        await recording_exports.running(
            self.t.store, job.event_id, job.recording_id, self.id, progress, now
        )

    async def _run(self, job: Job) -> None:
        rec = await recordings.get(self.t.store, job.event_id, job.recording_id)
        if rec is None:
            return  # deleted with its event meanwhile
        work = folder(self.t, job.event_id, job.recording_id) / "export-work"
        try:
            await asyncio.to_thread(work.mkdir, exist_ok=True)  # not the parents: gone is gone
        except OSError:
            await self._failed(job, "the recording's files are gone")
            return
        try:
            plan = await plan_for(self.t, rec, job.role, work)
            plan_file = work / "plan.json"
            await asyncio.to_thread(plan_file.write_bytes, dump(plan))
            await self._progress(job, 0.0)
            size, error = await self._worker(job, plan_file)
            if error:
                await self._failed(job, error)
            else:
                now = await self.t.store.now()
                await recording_exports.finished(
                    self.t.store, job.event_id, job.recording_id, self.id, size, now
                )
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
            part = work.parent / (recording_exports.FILE + ".part")  # left by a killed worker
            await asyncio.to_thread(part.unlink, True)

    async def _worker(self, job: Job, plan_file: Path) -> tuple[int, str]:
        """Run the worker process; its size in bytes, or its error."""
        paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "media.export",
            str(plan_file),
            cwd=str(ROOT),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.create_task(proc.stderr.read())
        size = 0
        try:
            async for raw in proc.stdout:
                word, _, value = raw.decode(errors="replace").strip().partition(" ")
                if word == "progress":
                    await self._progress(job, float(value))
                elif word == "done":
                    size = int(value)
            code = await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            errors.cancel()
            raise
        told = (await errors).decode(errors="replace").strip().splitlines()
        if code == 0 and size > 0:
            return size, ""
        said = next((line for line in reversed(told) if line.startswith("error: ")), "")
        return 0, said.removeprefix("error: ") or f"the export process ended with code {code}"


RUNNER = web.AppKey("export_runner", ExportRunner)


def runner(request: web.Request) -> ExportRunner:
    return request.app[RUNNER]


def setup(app: web.Application) -> None:
    """Run this node's export runner while the app runs (after the store started)."""

    jobs = app[RUNNER] = ExportRunner(app[KEY])

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        jobs.start()
        yield
        await jobs.stop()

    app.cleanup_ctx.append(lifespan)
