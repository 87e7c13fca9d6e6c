"""Files that hold secrets: the embedded store's snapshot and journal (they keep the signing
secret) and the mail outbox (it keeps sign-in links). Their directory is 0700 and each file
0600, whatever the umask, and also when the directory or a file existed with wider modes."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) if needed; only its owner may enter it."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def open_private(path: Path, flags: int = os.O_RDWR) -> int:
    """A descriptor on `path`, created if needed; only its owner may read it."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def make_private(path: Path) -> None:
    """Narrow an existing file to its owner (a file an older version left readable)."""
    if path.exists():
        os.chmod(path, FILE_MODE)


def write_private(path: Path, data: bytes, sync: bool = True) -> None:
    """Write `data` into `path` (replaced whole), readable by its owner only; `sync`: and
    wait until it is on disk."""
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """Wait until the entries of directory `path` (a file created, renamed or removed) are
    on disk: without it a crash can forget a rename even though the file was synced."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
