"""What happens between updates of a run (training/loop.py's schedule): one method per concern
(logging the losses, the sample grid, evaluation, the checkpoint), each on the steps the schedule
says (``train.log_every``, ``sample_every``, ``eval_every``, ``ckpt_every``) and all on the last.
Rank 0 alone writes files and logs."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

import numpy as np
import torch
from omegaconf import DictConfig

from sngan_cli import SnganError, __version__
from sngan_cli.data.batches import BatchStream
from sngan_cli.images import save_png, square_grid, to_uint8
from sngan_cli.models.latent import CYCLE, draw_latent
from sngan_cli.run_dir import LAST, SAMPLES, checkpoint_dir, write_status
from sngan_cli.training.checkpoint import rng_state, save_checkpoint
from sngan_cli.training.distributed import Distributed
from sngan_cli.training.monitor import Monitor
from sngan_cli.training.periodic_eval import PeriodicEvaluator

if TYPE_CHECKING:
    from sngan_cli.training.loop import GAN


class NonFiniteLoss(SnganError):
    pass


def fixed_latent(gan: "GAN", n: int, seed: int):
    """The z (and labels) of the sample grids: the same for the whole run and across resumes."""
    return draw_latent(n, gan.z_dim, gan.z_distribution, gan.num_classes, CYCLE, gan.device,
                       torch.Generator().manual_seed(seed))


def _kept(run_dir: str) -> str:
    """What a stopped run leaves to resume from: the last good checkpoint, or nothing yet."""
    ckpt_dir = checkpoint_dir(run_dir)
    if os.path.exists(os.path.join(ckpt_dir, LAST)):
        return f"the last good checkpoint is kept in {ckpt_dir}"
    return "no checkpoint had been written yet, so nothing is kept"


class LossSums:
    """Each update's losses summed on the device since the last log line (no host sync per step), and
    how many updates each sum holds: a step's n_dis D updates count n_dis times, so ``loss/D`` is their
    mean."""

    def __init__(self) -> None:
        self.sums: Dict[str, torch.Tensor] = {}
        self.updates: Dict[str, int] = {}

    def add(self, terms: Dict[str, torch.Tensor]) -> None:
        """The terms of one update (a D or a G update)."""
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0) + v
            self.updates[k] = self.updates.get(k, 0) + 1

    def averaged_over_ranks(self, dist: Distributed) -> None:
        """The same sums, and so the same verdicts, on every rank."""
        self.sums = dist.average_scalars(self.sums)

    def all_finite(self) -> bool:
        return all(torch.isfinite(v).all() for v in self.sums.values())

    def take_means(self) -> Dict[str, float]:
        means = {k: float(v) / self.updates[k] for k, v in self.sums.items()}
        self.sums, self.updates = {}, {}
        return means


class Chores:
    """What happens between updates, one method per concern; ``due`` says which, after a step."""

    def __init__(self, cfg: DictConfig, gan: "GAN", batches: BatchStream, run_dir: str, start: int,
                 saved: Optional[Dict[str, int]] = None) -> None:
        self.cfg, self.gan, self.batches, self.run_dir = cfg, gan, batches, run_dir
        self.saved = saved  # {"step": the step of the last checkpoint on disk}, kept up to date here
        main = gan.dist.is_main
        self.losses = LossSums()
        self.logged = start  # the last step the log has covered
        self.monitor = Monitor(run_dir, start, cfg.train.steps, cfg) if main else None
        self.evaluator = PeriodicEvaluator(cfg, run_dir, gan.device) if cfg.train.eval_every and main else None
        self.grid_z, self.grid_y = fixed_latent(gan, cfg.train.n_samples_grid, cfg.seed)
        train = cfg.train
        self.schedule = [(self.log, train.log_every), (self.sample, train.sample_every),
                         (self.evaluate, train.eval_every), (self.checkpoint, train.ckpt_every)]

    def due(self, step: int, last: bool, stopping: bool = False) -> List[Callable[[int], None]]:
        """The chores due after ``step``, in order; the last step does every one that is on. A step
        after which the run stops checkpoints first and forces no other chore: a job told to stop
        (a pre-emption) has little time left."""
        due = [chore for chore, every in self.schedule if every and (last or step % every == 0)]
        return [self.checkpoint, *(c for c in due if c != self.checkpoint)] if stopping else due

    def log(self, step: int) -> None:
        """The mean losses since the last log line, step time, and D's sigmas; stops on a NaN."""
        self.losses.averaged_over_ranks(self.gan.dist)
        first, self.logged = self.logged + 1, step
        means = self.losses.take_means()
        bad = [k for k, v in means.items() if not np.isfinite(v)]
        if bad:
            raise NonFiniteLoss(f"non-finite {', '.join(bad)} between steps {first} and {step}; {_kept(self.run_dir)}")
        if self.monitor is not None:
            means["time/step_s"] = self.monitor.progress(step, means)
            self.monitor.scalars(step, {**means, **self.gan.sigmas()})

    def sample(self, step: int) -> None:
        """A grid of G's images of the run's fixed z: a PNG and a TensorBoard image."""
        self.gan.sync_buffers()  # G's BN running statistics, averaged over the ranks
        if self.monitor is not None:
            images = to_uint8(self.gan.sample(self.grid_z, self.grid_y), self.cfg.eval.quantize)
            image = square_grid(images)
            save_png(image, os.path.join(self.run_dir, SAMPLES, f"step_{step:07d}.png"))
            self.monitor.image(step, "samples", image)

    def evaluate(self, step: int) -> None:
        """IS and FID of G now (train.eval_every)."""
        self.gan.sync_buffers()
        if self.evaluator is not None:
            self.monitor.scalars(step, self.evaluator(self.gan, step))

    def checkpoint(self, step: int) -> None:
        """The run's state, written atomically; never a state whose recent losses are not finite."""
        self.losses.averaged_over_ranks(self.gan.dist)
        if not self.losses.all_finite():
            raise NonFiniteLoss(f"non-finite loss before step {step}; {_kept(self.run_dir)}")
        gan, dist = self.gan, self.gan.dist
        gan.sync_buffers()
        rngs = dist.all_gather_object(rng_state())  # every rank's RNG: a resume continues each stream
        if dist.is_main:
            extra = {"rng_ranks": rngs, "world_size": dist.world_size} if dist.enabled else {}
            save_checkpoint({"step": step, **gan.state_dict(), "num_classes": gan.num_classes,
                             "data": self.batches.state_dict(), "rng": rngs[0], **extra,
                             "config": self.cfg, "version": __version__},  # stored plain: save_checkpoint
                            checkpoint_dir(self.run_dir))
            write_status(self.run_dir, "running", step)  # status.json names the last good checkpoint's step
        if self.saved is not None:
            self.saved["step"] = step
        dist.barrier()  # nobody goes on (or reads it back) before the checkpoint is complete

    def close(self) -> None:
        if self.monitor is not None:
            self.monitor.close()

