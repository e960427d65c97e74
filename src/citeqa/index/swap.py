"""Replacing a folder so that a crash never leaves it half-written: files flushed to disk,
the new folder swapped in atomically, and a lock so that two builds take turns."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import glob
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from citeqa.errors import IndexLockedError


def old_name(target: Path) -> Path:
    """Where the previous folder waits while a swap without renameat2 is half done."""
    return target.with_name(f".{target.name}.old")


def recover_interrupted_swap(target: Path) -> None:
    """Put the previous folder back where a two-rename swap stopped half-way."""
    old = old_name(target)
    if not target.exists() and old.is_dir() and os.access(old.parent, os.W_OK):
        os.rename(old, target)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_into_place(tmp: Path, target: Path) -> None:
    """Put ``tmp`` where ``target`` is, atomically where the kernel allows it."""
    if not target.exists():
        os.rename(tmp, target)
    elif _exchange(tmp, target):
        shutil.rmtree(tmp)  # now holds the previous index
    else:
        # Two renames: a crash between them leaves the old index at ``old``, which
        # ``recover_interrupted_swap`` puts back when the index is next read.
        old = old_name(target)
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old)
    fsync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with Linux renameat2(RENAME_EXCHANGE)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc: int = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def remove_leftovers(index_dir: Path) -> None:
    """Temporary folders of builds that were killed, and a previous index a two-rename swap
    was stopped from deleting (the next swap needs its name); safe under the lock."""
    for path in index_dir.parent.glob(f".{glob.escape(index_dir.name)}.tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    if index_dir.is_dir() and old_name(index_dir).is_dir():
        shutil.rmtree(old_name(index_dir), ignore_errors=True)


@contextlib.contextmanager
def build_lock(index_dir: Path, *, timeout: float) -> Iterator[None]:
    """An exclusive lock beside the index folder; a second build waits up to ``timeout``."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.with_name(f".{index_dir.name}.lock")
    with lock_path.open("a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another citeqa build holds {lock_path}; try again when it ends"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
