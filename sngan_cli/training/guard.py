"""Protection of a run directory while it trains.

- An exclusive lock (``flock`` on ``<run dir>/.lock``): a second process on the same run refuses;
  the kernel releases the lock when its holder dies, even by SIGKILL, so no stale lock remains.
- SIGTERM (SLURM pre-emption), SIGINT (Ctrl-C) and SIGUSR2 (submitit's signal before a time limit
  or a pre-emption) become a request to stop after the current step, which the loop honours by
  saving a checkpoint before anything else; then the handlers these signals had before the run, where
  a launcher installed them (submitit's: requeue the job, which resumes from that checkpoint), are
  called (``hand_over``).
- ``status.json``: running / finished / failed (with the error) / interrupted, for sweeps and reports;
  a sweep fails naming its runs that failed or were interrupted without being requeued, whatever
  launcher ran them (FailedRunsOfTheSweep).
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

from hydra.experimental.callback import Callback

from sngan_cli import SnganError
from sngan_cli.run_dir import STATUS, read_status, write_status

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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)


class StopRequest:
    """Turns SIGTERM/SIGINT/SIGUSR2 into a flag checked between steps (a second SIGINT stops at once)."""

    def __init__(self) -> None:
        self.signal: Optional[int] = None  # the first stop signal received: the exit status is 128 + it
        self.received: List[int] = []  # every one, in order: each is handed over (SLURM may follow USR2 with TERM)
        self._previous: Dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if signum == signal.SIGINT and signal.SIGINT in self.received:
            raise KeyboardInterrupt
        self.received.append(signum)
        if self.signal is None:
            self.signal = signum

    def __enter__(self) -> "StopRequest":
        try:
            for sig in STOP_SIGNALS:
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

    def hand_over(self) -> None:
        """Once the checkpoint is saved: call, for each signal received, the handler it had before the
        run where a launcher installed one (submitit's for SIGUSR2 saves the job's submission, requeues
        it and exits; for SIGTERM it only logs); Python's own (Ctrl-C's KeyboardInterrupt, the default,
        ignore) are not called. Whatever such a handler raises goes on to the launcher."""
        for signum in dict.fromkeys(self.received):  # each once, in the order received
            previous = self._previous.get(signum)
            if callable(previous) and previous is not signal.default_int_handler:
                previous(signum, None)


def record_failure(run_dir: str, step: int, error: Exception) -> None:
    """status.json says failed, at the step of the last good checkpoint; when even that cannot be
    written (a full disk), the "running" status of that checkpoint stays, and the error goes on."""
    try:
        write_status(run_dir, "failed", step, f"{type(error).__name__}: {error}")
    except SnganError as e:
        log.error("%s", e)


failed_runs: Dict[str, str] = {}  # run directory -> why it failed, for this process's sweep


class FailedRunsOfTheSweep(Callback):
    """Collects, in the process that started the sweep, the runs of this sweep that failed, whatever
    launcher ran them: a run in another process (joblib, submitit) records its failure only in its
    ``status.json``, so the sweep directory is searched, once all runs are done, for those written
    since the sweep started with status ``failed``, or ``interrupted``: stopped by a signal and not
    requeued (submitit's handler refuses once a job has timed out ``max_num_timeout`` times, and the
    job itself then ends as if it were done); a run in this process adds itself to ``failed_runs``
    (commands/train.py). conf/train.yaml registers it."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self.started = time.time() - 1  # file times come from a coarser clock

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        for folder, _, files in os.walk(config.hydra.sweep.dir):
            if STATUS not in files or os.path.getmtime(os.path.join(folder, STATUS)) < self.started:
                continue
            status = read_status(folder)
            if not isinstance(status, dict):
                continue
            if status.get("status") == "failed":
                failed_runs.setdefault(os.path.abspath(folder), status.get("error", "failed"))
            elif status.get("status") == "interrupted":
                failed_runs.setdefault(os.path.abspath(folder), f"interrupted at step {status.get('step')} and not "
                                                                f"requeued; its checkpoint resumes it")
