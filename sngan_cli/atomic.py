"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import BinaryIO, Callable, Optional

from sngan_cli import SnganError


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_copy(path: str, destination: str) -> None:
    """``destination`` becomes the current ``path`` while ``path`` itself never disappears."""
    staged = f"{destination}.tmp"
    if os.path.exists(staged):
        os.unlink(staged)
    try:
        os.link(path, staged)  # a second name for the same file: instant, no copy
    except OSError:  # file systems without hard links
        shutil.copy2(path, staged)
    os.replace(staged, destination)


def atomic_write(path: str, write: Callable[[BinaryIO], None], keep_previous_as: Optional[str] = None) -> None:
    """Write ``path`` through a temp file in the same directory, fsync, rename into place.

    With ``keep_previous_as`` the file being replaced is kept under that name; ``path`` exists
    throughout, so a reader never finds it missing. On any error
    the temp file is removed; an OSError (a full disk included) becomes a SnganError naming the file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from collaborators
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous_as and os.path.exists(path):
            _keep_copy(path, keep_previous_as)
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, a quota, a permission: say which file
            raise SnganError(f"could not write {path}: {e.strerror or e}; nothing partial was left behind") from e
        raise
