"""Protection of a run directory while it trains.

- An exclusive lock (``flock`` on ``<run dir>/.lock``): a second process on the same run refuses;
  the kernel releases the lock when its holder dies, even by SIGKILL, so no stale lock remains.
- SIGTERM (SLURM pre-emption) and SIGINT (Ctrl-C) become a request to stop after the current step,
  which the loop honours by saving a checkpoint first.
- ``status.json``: running / finished / failed (with the error) / interrupted, for sweeps and reports.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write

log = logging.getLogger(__name__)


@contextmanager
def run_lock(run_dir: str) -> Iterator[None]:
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise SnganError(f"{run_dir} is being trained by another process ({holder}); "
                             f"wait for it to finish or choose another name=...") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


class StopRequest:
    """Turns SIGTERM/SIGINT into a flag checked between steps (a second SIGINT stops at once)."""

    def __init__(self) -> None:
        self.signal: Optional[int] = None
        self._previous: Dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> "StopRequest":
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._previous.clear()
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    @property
    def requested(self) -> bool:
        return self.signal is not None


def write_status(run_dir: str, status: str, step: int, error: Optional[str] = None) -> None:
    record = {"status": status, "step": step, **({"error": error} if error else {})}
    atomic_write(os.path.join(run_dir, "status.json"), lambda f: f.write(json.dumps(record).encode()))


def record_failure(run_dir: str, step: int, error: Exception) -> None:
    """status.json says failed, at the step of the last good checkpoint; when even that cannot be
    written (a full disk), the "running" status of that checkpoint stays, and the error goes on."""
    try:
        write_status(run_dir, "failed", step, f"{type(error).__name__}: {error}")
    except SnganError as e:
        log.error("%s", e)


def read_status(run_dir: str) -> Optional[Dict]:
    try:
        with open(os.path.join(run_dir, "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
