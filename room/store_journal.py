"""The embedded store on disk: a snapshot plus an append-only journal of mutations.

Files in the data directory (each private, see `room.files`):

- `tribune-snapshot.msgpack`: a header `{"v": 2, "upto": n}` then one small record per
  key (`State.records`). Earlier versions wrote the whole state as one map (`"v": 1`);
  it still loads.
- `tribune-journal-<n>.log`: segments of msgpack records `[operation, *args]`, numbered
  upwards. The snapshot holds every segment numbered `upto` or lower.

Durability: the store hands each mutation's record to `append` on the event loop; the
store's writer task calls `flush` (in a thread) every `FLUSH_EVERY` seconds, which
writes and fsyncs the segment. A kill -9 therefore loses at most the records of the last
flush period (plus the time of one fsync): well under a second on a healthy disk. A
record torn by the kill ends its segment's replay; a new segment is started at each
start, so nothing is appended after torn bytes.

Compaction: `rotate` closes the current segment and opens the next; `compact` (in a
thread, never on the event loop) replays the old snapshot and the closed segments into
a fresh `State`, writes the new snapshot to a temporary file, fsyncs it, renames it over
the old one, fsyncs the directory, and only then deletes the segments it holds. A crash
at any point leaves either the old snapshot with every segment, or the new one (stale
segments are deleted at the next start).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

from room import files
from room.store_state import State

log = logging.getLogger(__name__)

SNAPSHOT = "tribune-snapshot.msgpack"
SEGMENT = re.compile(r"^tribune-journal-(\d{8})\.log$")
FLUSH_EVERY = 0.25
"""Seconds between two flushes of the journal (the bound is one second; see README)."""
COMPACT_MIN_BYTES = 4 << 20
"""The journal is compacted once it is this large and larger than the snapshot."""


def segment_name(n: int) -> str:
    return f"tribune-journal-{n:08d}.log"


def pack(record: list[Any]) -> bytes:
    return msgpack.packb(record, use_bin_type=True)  # type: ignore[no-any-return]


def _unpacker(f: Any) -> msgpack.Unpacker:
    return msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=1 << 31)


def _records(path: Path) -> Iterator[Any]:
    """The records of one file; a torn or corrupt tail ends it (logged)."""
    with open(path, "rb") as f:
        try:
            yield from _unpacker(f)
        except (ValueError, msgpack.UnpackException):
            log.warning("%s ends in a damaged record; the records before it were read", path)


class Journal:
    """The files of one data directory. `append` is for the event loop; `flush`, `rotate`
    and `compact` block and run in threads (each file operation under one lock)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._lock = threading.Lock()  # the current segment
        self._compacting = threading.Lock()
        self._pending: list[bytes] = []
        self._fd: int | None = None
        self.segment = 0
        self.written = 0
        """Bytes in the segments the snapshot does not hold yet."""

    # -- start -------------------------------------------------------------------------
    def open(self, state: State) -> None:
        """Load the snapshot and replay the journal into `state`; start a new segment."""
        files.make_private(self.dir / SNAPSHOT)
        upto = self._load_snapshot(state, self.dir / SNAPSHOT)
        numbers = self._segments()
        for n in numbers:
            path = self.dir / segment_name(n)
            if n <= upto:
                path.unlink()  # held by the snapshot already (a compaction was cut short)
                continue
            files.make_private(path)
            self.written += path.stat().st_size
            for op, *args in _records(path):
                state.apply(op, args)
        self.segment = max([upto, *numbers])
        self._open_next()

    def _segments(self) -> list[int]:
        found = (SEGMENT.match(p.name) for p in self.dir.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    @staticmethod
    def _load_snapshot(state: State, path: Path) -> int:
        """Fill `state` from the snapshot at `path`; the last segment number it holds."""
        if not path.exists():
            return 0
        records = _records(path)
        header = next(records, None)
        if not isinstance(header, dict):
            return 0
        if header.get("v") == 1:
            state.load_legacy(header)
            return 0
        for record in records:
            state.load(record)
        return int(header["upto"])

    def _open_next(self) -> None:
        self.segment += 1
        self._fd = files.open_private(
            self.dir / segment_name(self.segment), os.O_WRONLY | os.O_APPEND
        )
        files.fsync_dir(self.dir)

    # -- writing -----------------------------------------------------------------------
    def append(self, record: bytes) -> None:
        self._pending.append(record)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def take(self) -> bytes:
        """The records appended since the last `take`, for `flush`."""
        data, self._pending = b"".join(self._pending), []
        return data

    def flush(self, data: bytes) -> None:
        """Write `data` to the current segment and wait until it is on disk."""
        with self._lock:
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
            self.written += len(data)

    def rotate(self, data: bytes = b"") -> int:
        """Flush `data`, close the current segment and open the next; the closed one's number."""
        self.flush(data)
        with self._lock:
            assert self._fd is not None
            os.close(self._fd)
            self._fd = None
            closed = self.segment
            self._open_next()
            return closed

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def worth_compacting(self) -> bool:
        snapshot = self.dir / SNAPSHOT
        size = snapshot.stat().st_size if snapshot.exists() else 0
        return self.written >= max(COMPACT_MIN_BYTES, size)

    # -- compaction --------------------------------------------------------------------
    def compact(self, upto: int) -> None:
        """Fold every closed segment up to `upto` into a new snapshot (blocking)."""
        with self._compacting:
            state = State()
            path = self.dir / SNAPSHOT
            held = self._load_snapshot(state, path)
            folded = [n for n in self._segments() if held < n <= upto]
            for n in folded:
                for op, *args in _records(self.dir / segment_name(n)):
                    state.apply(op, args)
            tmp = self.dir / (SNAPSHOT + ".tmp")
            fd = files.open_private(tmp, os.O_WRONLY | os.O_TRUNC)
            with os.fdopen(fd, "wb") as f:
                f.write(msgpack.packb({"v": 2, "upto": upto}))
                for record in state.records():
                    f.write(pack(record))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            files.fsync_dir(self.dir)
            for n in folded:
                segment = self.dir / segment_name(n)
                size = segment.stat().st_size
                segment.unlink()
                with self._lock:
                    self.written -= size
            files.fsync_dir(self.dir)
