"""The training loop: n_dis updates of D, then one of G, repeated ``train.steps`` times (Algorithm 1
around the loss of Sec. 2 / Eq. 17), with Adam as set by Table 1.

Build order (``_train_from``): G and D -> the normalizer (it may add parameters to D) -> the
optimizers (they must see every parameter) -> the checkpoint's state, when resuming -> the speed
options (training/speed.py ``accelerate``, last: it compiles what is loaded). The loop is a schedule:
after each step, the chores due (``due``: log, sample grid, evaluation, checkpoint), one method each.

Under ``torchrun`` the same loop runs data-parallel on every rank (training/distributed.py): ranks
average gradients before each optimizer step; rank 0 alone holds the run lock, writes status.json,
checkpoints, logs, sample grids and evaluations.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sngan_cli import SnganError
from sngan_cli.config import config_differences, resumable
from sngan_cli.data import load_dataset
from sngan_cli.data.batches import BatchStream
from sngan_cli.device import resolve_device
from sngan_cli.losses import get_loss
from sngan_cli.models import build_pair
from sngan_cli.models.latent import draw_latent
from sngan_cli.norms import build_normalizer, weight_layers
from sngan_cli.training import speed
from sngan_cli.run_dir import LAST, checkpoint_dir, write_status
from sngan_cli.training.checkpoint import find_resumable, load_weights, set_rng_state
from sngan_cli.training.distributed import SINGLE, Distributed, claim_free_gpu, device_for, from_environment
from sngan_cli.training.ema import GeneratorEMA
from sngan_cli.training.guard import StopRequest, record_failure, run_lock
from sngan_cli.training.chores import Chores, NonFiniteLoss

log = logging.getLogger(__name__)

MAX_RESTORES = 3  # train.on_nan=restore: consecutive roll-backs before giving up
RANK_SEED_STRIDE = 100_003  # rank r of a data-parallel run seeds with seed + r * stride (rank 0: seed)
# a reseed's offset per roll-back (train.on_nan=restore) or per step (a rank whose random state the
# checkpoint lacks): a prime larger than RANK_SEED_STRIDE times a world size, so no reseed repeats another
# rank's stream
RESEED_STRIDE = 1_000_003




def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class GAN:
    """G, D, their optimizers, the normalizer and the loss of one run, and one update of each:
    Algorithm 1 in plain eager PyTorch, fp32, one call of D per batch.

    Build order: G and D -> the normalizer (it may add parameters to D) -> the device -> the
    optimizers (which must see every parameter). The caller then loads a checkpoint, if any, and
    hands the GAN to ``speed.accelerate`` last; that replaces the parts the updates call
    (``fake_batch``, ``d_objective``, ``g_objective``) with faster versions of the same computation.
    """

    def __init__(self, cfg: DictConfig, num_classes: int, device: torch.device, dist: Distributed = SINGLE) -> None:
        self.cfg, self.device, self.dist = cfg, device, dist
        self.num_classes = num_classes if cfg.arch.conditional else 0
        self.normalizer = build_normalizer(OmegaConf.to_object(cfg.norm))
        self.loss = get_loss(cfg.loss.name)
        self.G, self.D = build_pair(cfg.arch, cfg.dataset.resolution, num_classes, self.normalizer.feature_norm)
        self.normalizer.apply(self.D)
        self.G.to(device)
        self.D.to(device)
        dist.broadcast_module(self.G)  # every rank starts from rank 0's weights and u, v
        dist.broadcast_module(self.D)
        betas = (cfg.setting.beta1, cfg.setting.beta2)
        fused = cfg.train.fused_adam or None  # None: PyTorch's default implementation for the device
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.setting.lr, betas=betas, fused=fused)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.setting.lr, betas=betas, fused=fused)
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.g_batch_size = cfg.train.g_batch_size or cfg.arch.g_batch_size
        self.z_dim, self.z_distribution = cfg.arch.z_dim, cfg.arch.z_distribution
        self.ema = GeneratorEMA(self.G, cfg.train.ema_decay, cfg.train.ema_start) if cfg.train.ema else None
        self.setting, self.steps = OmegaConf.to_object(cfg.setting), cfg.train.steps  # Table 1's row, run length

    def latent(self, n: int):
        return draw_latent(n, self.z_dim, self.z_distribution, self.num_classes, device=self.device)

    def set_lr(self, step: int) -> None:
        """Linear decay to 0 at train.steps, from setting.decay_start on, when setting.lr_decay=linear."""
        s, steps = self.setting, self.steps
        lr = s.lr
        if s.lr_decay == "linear" and step > s.decay_start:
            lr = s.lr * max(0.0, 1 - (step - s.decay_start) / max(1, steps - s.decay_start))
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr

    def d_step(self, real: torch.Tensor, real_y: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """One update of D (Algorithm 1's inner loop): D's loss (Eq. 17's D side) on a real batch and
        a batch of G(z), plus the normalizer's penalty, then one Adam step."""
        real_y = real_y if self.num_classes else None
        z, fake_y = self.latent(real.shape[0])
        fake = self.fake_batch(z, fake_y)
        self.normalizer.before_d_step(self.D)  # spectral norm, every_update: the power iteration
        loss, penalty = self.d_objective(real, real_y, fake, fake_y)
        total = loss if penalty is None else loss + penalty
        self.opt_D.zero_grad(set_to_none=True)
        total.backward()
        self.dist.average_gradients(self.D)
        self.opt_D.step()
        self.normalizer.after_d_step(self.D)  # weight clipping
        terms = {"loss/D": loss.detach()}
        if penalty is not None:
            terms["loss/penalty"] = penalty.detach()
        return terms

    def g_step(self) -> Dict[str, torch.Tensor]:
        """One update of G: G's loss on D's logits of a batch of G(z), then one Adam step on G's
        parameters only (nothing is added to D's .grad)."""
        z, y = self.latent(self.g_batch_size)
        loss = self.g_objective(z, y)
        self.opt_G.zero_grad(set_to_none=True)
        loss.backward(inputs=self.g_params)
        self.dist.average_gradients(self.G)
        self.opt_G.step()
        return {"loss/G": loss.detach()}

    @torch.no_grad()
    def fake_batch(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """G(z) for D's update: no gradient reaches G."""
        return self.G(z, y)

    def d_objective(self, real: torch.Tensor, real_y: Optional[torch.Tensor], fake: torch.Tensor,
                    fake_y: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """D's loss on the real and the fake batch, and the normalizer's penalty (None without one)."""
        loss = self.loss.d(self.D(real, real_y), self.D(fake, fake_y))
        return loss, self.normalizer.penalty(self.D, real, fake, real_y)

    def g_objective(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """G's loss on D's logits of G(z)."""
        return self.loss.g(self.D(self.G(z, y), y))

    @torch.no_grad()
    def sample(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """Images in [-1, 1] from G in eval mode (BN running statistics)."""
        self.G.eval()
        try:
            return self.G(z, y)
        finally:
            self.G.train()

    @torch.no_grad()
    def sigmas(self) -> Dict[str, float]:
        """sigma/<layer>: power-iteration estimate of the raw weight's spectral norm (where kept);
        sigma_exact/<layer>: exact spectral norm of the effective weight D uses (Figure 9)."""
        out = {f"sigma/{k}": float(v) for k, v in self.normalizer.sigma_estimates(self.D).items()}
        self.D.eval()  # reading the effective weights must not refresh spectral norm's u (every_forward)
        try:
            for name, module in weight_layers(self.D):
                w = module.weight.flatten(1).float()
                out[f"sigma_exact/{name}"] = float(torch.linalg.matrix_norm(w, ord=2))
        finally:
            self.D.train()
        return out

    def sync_buffers(self) -> None:
        """Average BN running statistics over the ranks (data-parallel runs) before they are read."""
        self.dist.average_batchnorm_stats(self.G)
        self.dist.average_batchnorm_stats(self.D)

    def parts(self) -> Dict[str, Any]:
        """What a checkpoint holds of the GAN, by name."""
        out = {"G": self.G, "D": self.D, "opt_G": self.opt_G, "opt_D": self.opt_D}
        return {**out, "G_ema": self.ema.G} if self.ema is not None else out

    def state_dict(self) -> Dict[str, Any]:
        return {name: part.state_dict() for name, part in self.parts().items()}

    def load_state_dict(self, state: Dict[str, Any], source: str = "the checkpoint") -> None:
        for name, part in self.parts().items():
            if name not in state:
                raise SnganError(f"{source} has no {name}: it was trained without train.ema; resume it with "
                                 f"train.ema=false, or start a new run")
            load_weights(part, state[name], source, name)


def resume_state(cfg: DictConfig, ckpt_dir: str, quarantine: bool = False) -> Optional[Dict[str, Any]]:
    ckpt = find_resumable(ckpt_dir, quarantine=quarantine)
    if ckpt is None:
        return None
    differences = config_differences(ckpt["config"], cfg, ignore=resumable)
    if differences:
        raise SnganError(f"{ckpt_dir} holds a run with another configuration; choose another name=... "
                         f"or hydra.run.dir=... to start a new run. Differences: {'; '.join(differences)}")
    return ckpt


def train(cfg: DictConfig, run_dir: str) -> Dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; return its final step and directory.

    Under ``torchrun`` every rank calls this with the same config and directory, validated
    (config.validate) by whoever composed it."""
    device = resolve_device(cfg.device)  # refuse device=cuda without CUDA before touching the run directory
    dist = from_environment(cfg.device)
    ckpt_dir = checkpoint_dir(run_dir)
    with contextlib.ExitStack() as held:
        # rank 0 takes the run lock; the others learn whether it could, and stop with it if not
        dist.on_main(lambda: held.enter_context(run_lock(run_dir)))
        device = device_for(dist, device)
        if cfg.device == "cuda:free" and not dist.enabled:
            device = claim_free_gpu(held)  # held until this run ends, or its process dies
        # every rank reads the same file; only rank 0 moves an unreadable one aside
        resumed = resume_state(cfg, ckpt_dir, quarantine=dist.is_main)
        if resumed is not None and resumed["step"] >= cfg.train.steps:
            log.info("%s is already trained to step %d", run_dir, resumed["step"])
            if dist.is_main:
                write_status(run_dir, "finished", int(resumed["step"]))
            return {"step": int(resumed["step"]), "run_dir": run_dir}
        step = int(resumed["step"]) if resumed is not None else 0
        saved = {"step": step}  # the step of the last checkpoint on disk, updated by each new one
        if dist.is_main:
            write_status(run_dir, "running", step)
        try:
            with StopRequest() as stop:
                step = _train_from(cfg, run_dir, resumed, stop, dist, device, saved)
        except Exception as e:
            if dist.is_main:
                record_failure(run_dir, saved["step"], e)
            raise
        if stop.requested:
            if dist.is_main:
                write_status(run_dir, "interrupted", step)
                print(f"sngan train: stopped by signal {stop.signal} at step {step}; checkpoint saved in {ckpt_dir}; "
                      f"rerun the same command to resume", file=sys.stderr, flush=True)
                stop.hand_over()  # under submitit: requeue the job, which resumes from this checkpoint
            raise SystemExit(128 + stop.signal)
        if dist.is_main:
            write_status(run_dir, "finished", step)
    log.info("finished %s at step %d", run_dir, step)
    return {"step": step, "run_dir": run_dir}


def _train_from(cfg: DictConfig, run_dir: str, resumed: Optional[Dict[str, Any]], stop: StopRequest,
                dist: Distributed = SINGLE, device: Optional[torch.device] = None,
                saved: Optional[Dict[str, int]] = None) -> int:
    """Build the run (G, D -> normalizer -> optimizers -> the checkpoint's state -> speed options),
    then loop; return the last step."""
    device = device or device_for(dist, resolve_device(cfg.device))
    ckpt_dir = checkpoint_dir(run_dir)
    seed_everything(cfg.seed + RANK_SEED_STRIDE * dist.rank)
    data = load_dataset(**cfg.dataset)
    if cfg.arch.conditional and data.num_classes == 0:
        raise SnganError(f"arch.conditional=true needs labels, and dataset={cfg.dataset.name} has none")
    gan = GAN(cfg, data.num_classes, device, dist)
    batches = BatchStream(data, cfg.train.batch_size, cfg.seed, device, rank=dist.rank, world_size=dist.world_size,
                          scaling=cfg.arch.data_scaling)
    start = 0
    if resumed is not None:
        gan.load_state_dict(resumed, os.path.join(ckpt_dir, LAST))
        batches.load_state_dict(resumed["data"])
        start = int(resumed["step"])
        _restore_rng(cfg, resumed, dist, start)
        log.info("resuming %s from step %d", run_dir, start)
    speed.accelerate(gan, cfg.train)

    restores = 0
    while True:
        try:
            return _loop(cfg, gan, batches, run_dir, start, stop, saved)
        except NonFiniteLoss as e:
            start = _restore_after_nan(cfg, gan, batches, ckpt_dir, e, restores)
            restores += 1


def _restore_rng(cfg: DictConfig, resumed: Dict[str, Any], dist: Distributed, step: int) -> None:
    """Each rank continues its own random streams; with another number of processes than the
    checkpoint's, ranks > 0 are reseeded (the run goes on, but not bit-for-bit as a straight one)."""
    states = resumed.get("rng_ranks") or [resumed["rng"]]
    if len(states) == dist.world_size or dist.rank == 0:
        set_rng_state(states[dist.rank] if len(states) == dist.world_size else states[0])
    else:
        seed_everything(cfg.seed + RANK_SEED_STRIDE * dist.rank + RESEED_STRIDE * step)
    if len(states) != dist.world_size and dist.is_main:
        log.warning("the checkpoint was written by %d process(es) and this run has %d: the other ranks' random "
                    "streams are reseeded", len(states), dist.world_size)


def _restore_after_nan(cfg: DictConfig, gan: GAN, batches: BatchStream, ckpt_dir: str,
                       error: NonFiniteLoss, restores: int) -> int:
    """train.on_nan=restore: reload the last good checkpoint and go on with a new random seed."""
    ckpt = find_resumable(ckpt_dir) if cfg.train.on_nan == "restore" else None
    if ckpt is None or restores >= MAX_RESTORES:
        raise error
    gan.load_state_dict(ckpt, ckpt_dir)
    batches.load_state_dict(ckpt["data"])
    new_seed = cfg.seed + RESEED_STRIDE * (restores + 1) + int(ckpt["step"])
    seed_everything(new_seed + RANK_SEED_STRIDE * gan.dist.rank)
    log.warning("%s; restored step %d and continuing with seed %d", error, ckpt["step"], new_seed)
    return int(ckpt["step"])


def _loop(cfg: DictConfig, gan: GAN, batches: BatchStream, run_dir: str, start: int, stop: StopRequest,
          saved: Optional[Dict[str, int]] = None) -> int:
    """Steps start+1 .. train.steps of Algorithm 1, each followed by the chores the schedule says are
    due (log, sample grid, evaluation, checkpoint); returns the last step done (earlier when a stop
    is requested)."""
    steps, n_dis = cfg.train.steps, cfg.setting.n_dis
    chores = Chores(cfg, gan, batches, run_dir, start, saved)
    step = start
    try:
        for step in range(start + 1, steps + 1):
            gan.set_lr(step)
            for _ in range(n_dis):
                chores.losses.add(gan.d_step(*batches.next()))
            chores.losses.add(gan.g_step())
            if gan.ema is not None:
                gan.ema.update(step)
            stopping = _stop_requested(stop, gan.dist)
            for chore in chores.due(step, last=step == steps, stopping=stopping):
                chore(step)
            if stopping:
                break
    finally:
        chores.close()
    return step


def _stop_requested(stop: StopRequest, dist: Distributed) -> bool:
    """Whether to stop after this step; read once: a signal arriving later is honoured next step.
    Data-parallel ranks stop at the same step (a host-side flag, no device sync)."""
    stopping = stop.requested
    if dist.enabled:
        stopping = dist.any(stopping)
        if stopping and not stop.requested:
            stop.signal = int(signal.SIGTERM)
    return stopping
