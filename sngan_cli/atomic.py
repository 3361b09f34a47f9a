"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one."""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from typing import Any, BinaryIO, Callable, Dict, Optional

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


class _Sink:
    """The temp file as the writer sees it, keeping the first OSError its ``write`` raised: torch.save
    turns a failed write (a full disk) into its own RuntimeError ('unexpected pos ...'), which would
    otherwise hide what went wrong."""

    def __init__(self, f: BinaryIO) -> None:
        self._f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self._f.write(data)
        except OSError as e:
            self.error = self.error or e
            raise

    def __getattr__(self, name: str):
        return getattr(self._f, name)


def describe_os_error(error: OSError) -> str:
    """'no space left on device' for a full disk, else the system's wording ('Permission denied')."""
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    return error.strerror or str(error) or type(error).__name__


def file_in_the_way(path: str) -> Optional[str]:
    """The nearest existing ancestor of ``path`` that is a file, not a directory (``out=notes.txt/G.pt``),
    or None: writing ``path`` would fail there with the system's unhelpful 'File exists'."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up
    return None if os.path.isdir(parent) else parent


def refuse_file_in_the_way(path: str, key: str = "out") -> None:
    """A SnganError for ``key=path`` when a part of the path is a file (:func:`file_in_the_way`)."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise SnganError(f"{key}={path}: {blocker} is a file, not a directory; give a path inside a directory")


def atomic_write(path: str, write: Callable[[BinaryIO], None], keep_previous_as: Optional[str] = None) -> None:
    """Write ``path`` through a temp file in the same directory, fsync, rename into place.

    With ``keep_previous_as`` the file being replaced is kept under that name; ``path`` exists
    throughout, so a reader never finds it missing. On any error
    the temp file is removed; an OSError (a full disk, a read-only directory included) becomes a
    SnganError naming ``path``, never the temp file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise SnganError(f"could not write {path}: {blocker} is a file, not a directory")
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from collaborators
        with os.fdopen(fd, "wb") as f:
            sink = _Sink(f)
            try:
                write(sink)
            except Exception as e:
                if sink.error is not None and not isinstance(e, OSError):
                    raise sink.error from e
                raise
            f.flush()
            os.fsync(f.fileno())
        if keep_previous_as and os.path.exists(path):
            _keep_copy(path, keep_previous_as)
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, a quota, a permission: say which file
            raise SnganError(f"could not write {path}: {describe_os_error(e)}; nothing partial was left behind") from e
        raise


def write_json(path: str, payload: Dict[str, Any]) -> None:
    """``payload`` as indented JSON, atomically."""
    atomic_write(path, lambda f: f.write((json.dumps(payload, indent=2) + "\n").encode()))
