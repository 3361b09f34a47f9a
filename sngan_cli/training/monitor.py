"""What a run reports: TensorBoard scalars and image grids, and progress on the console.

In TensorBoard each run is also an HParams session: its hyperparameters (every key that changes
its numbers, and its name: :func:`is_hparam`) with the metrics ``METRICS`` (filled in by ``train.eval_every`` and
``sngan eval``), so a sweep's logdir shows as one sortable table and parallel-coordinates view; and
the sigma of every layer of D is one chart of the custom-scalars dashboard (``SIGMA_LAYOUT``).

On a terminal a tqdm bar shows steps/s, ETA and the latest losses; when output is not a terminal
(cluster logs) one plain line is printed per logging interval instead of redrawing.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Dict, List

import torch
from omegaconf import DictConfig
from tensorboard.plugins.hparams import summary_v2 as hp
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from sngan_cli.config import changes_numbers, flatten, plain
from sngan_cli.metrics.evaluate import SCALAR_TAGS

# the order of the HParams table's first columns (the rest follow sorted)
HPARAMS_FIRST = ("dataset.name", "arch.name", "arch.width", "arch.g_width", "arch.d_width", "arch.d_last_channels",
                 "norm.name", "loss.name", "setting.name", "setting.lr", "setting.beta1", "setting.beta2",
                 "setting.n_dis", "train.steps", "train.ema", "seed", "name")
# final scores (training/periodic_eval.py, `sngan eval`); eval.metrics or `sngan eval metrics=` add the others
_SCORES = ("metrics/IS", "metrics/FID", *SCALAR_TAGS.values())
# ... and the best of the evaluations during training, and `sngan eval g=ema`'s (each tag + "_ema")
METRICS = ("metrics/IS", "metrics/FID", "metrics/IS_best", "metrics/FID_best", *SCALAR_TAGS.values(),
           *(f"{tag}_ema" for tag in _SCORES))
SIGMA_LAYOUT = {"D": {"sigma of every layer (power-iteration estimate)": ["Multiline", [r"sigma/.*"]],
                      "exact sigma of every effective weight (Figure 9)": ["Multiline", [r"sigma_exact/.*"]]}}


def is_hparam(key: str) -> bool:
    """Whether a dotted config key is one of a session's hyperparameters."""
    return changes_numbers(key) or key == "name"


def hparams_of(cfg: DictConfig) -> Dict[str, Any]:
    """The run's value of every hyperparameter (:func:`is_hparam`), as TensorBoard takes them: a list
    (``eval.metrics``) as its text; a null (``arch.d_last_channels``: the paper's) left out."""
    values = {key: value for key, value in flatten(plain(cfg)).items() if is_hparam(key) and value is not None}
    return {key: values[key] if isinstance(values[key], (bool, int, float, str)) else str(values[key])
            for key in _ordered(values)}


def _ordered(keys) -> List[str]:
    keys = set(keys)
    return [key for key in HPARAMS_FIRST if key in keys] + sorted(keys - set(HPARAMS_FIRST))


def hparams_summaries(cfg: DictConfig, all_hparams: List[str]) -> list:
    """The experiment (every hparam and metric name, the same for every run of this version) and this
    run's session."""
    experiment = hp.hparams_config_pb(hparams=[hp.HParam(name) for name in all_hparams],
                                      metrics=[hp.Metric(tag) for tag in METRICS])
    return [experiment, hp.hparams_pb(hparams_of(cfg))]


class Monitor:
    def __init__(self, run_dir: str, start_step: int, total_steps: int, cfg: DictConfig = None) -> None:
        self.writer = SummaryWriter(run_dir)
        if cfg is not None:
            self.writer.add_custom_scalars(SIGMA_LAYOUT)
            for summary in hparams_summaries(cfg, all_hparam_names()):
                self.writer._get_file_writer().add_summary(summary)
        self.total = total_steps
        self.interactive = sys.stderr.isatty()
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                        disable=not self.interactive)
        self._last_step, self._last_time = start_step, time.perf_counter()
        self._start_time, self._start_step = self._last_time, start_step

    def scalars(self, step: int, values: Dict[str, float]) -> None:
        """Every value at ``step``; None values are skipped."""
        for tag, value in values.items():
            if value is not None:
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


def all_hparam_names() -> List[str]:
    """Every hyperparameter any run of this version can have (every option of every dataset, normalizer
    and loss included): the experiment's list, one for every run, so a sweep's sessions share it."""
    from dataclasses import fields

    from sngan_cli.config.schema import TrainRunConfig, group_options

    keys = set()
    for top in fields(TrainRunConfig):
        options = group_options(top.name)
        if options is None:
            keys.add(top.name)
        for node in options or ():
            keys.update(f"{top.name}.{f.name}" for f in fields(node))
    return _ordered(key for key in keys if is_hparam(key))
