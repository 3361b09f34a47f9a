"""What a run reports: TensorBoard scalars and image grids, and progress on the console.

On a terminal a tqdm bar shows steps/s, ETA and the latest losses; when output is not a terminal
(cluster logs) one plain line is printed per logging interval instead of redrawing.
"""
from __future__ import annotations

import sys
import time
from typing import Dict

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm


class Monitor:
    def __init__(self, run_dir: str, start_step: int, total_steps: int) -> None:
        self.writer = SummaryWriter(run_dir)
        self.total = total_steps
        self.interactive = sys.stderr.isatty()
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                        disable=not self.interactive)
        self._last_step, self._last_time = start_step, time.perf_counter()
        self._start_time, self._start_step = self._last_time, start_step

    def scalars(self, step: int, values: Dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def progress(self, step: int, losses: Dict[str, float]) -> float:
        """Advance the display to ``step``; return the wall seconds per step since the last call."""
        now = time.perf_counter()
        seconds_per_step = (now - self._last_time) / max(1, step - self._last_step)
        self._last_step, self._last_time = step, now
        text = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
        if self.interactive:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(step - self.bar.n)
        else:
            rate = (step - self._start_step) / max(now - self._start_time, 1e-9)
            eta = (self.total - step) / max(rate, 1e-9)
            print(f"step {step}/{self.total} ({rate:.2f} steps/s, ETA {eta / 60:.1f} min) {text}", flush=True)
        return seconds_per_step

    def image(self, step: int, tag: str, image_uint8_chw: torch.Tensor) -> None:
        self.writer.add_image(tag, image_uint8_chw, step)

    def close(self) -> None:
        self.bar.close()
        self.writer.flush()
        self.writer.close()
