"""The training loop: n_dis updates of D, then one of G, repeated ``train.steps`` times (Algorithm 1
around the loss of Sec. 2 / Eq. 17), with Adam as set by Table 1.

Build order matters: D -> normalizer -> checkpoint -> optimizers -> compile (a normalizer may add
parameters, and the optimizers must see them).

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
from types import SimpleNamespace
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn
from omegaconf import DictConfig, OmegaConf

from sngan_cli import SnganError, __version__
from sngan_cli.config import RESUMABLE_KEYS, validate
from sngan_cli.data import load_dataset
from sngan_cli.data.batches import BatchStream
from sngan_cli.images import save_png, square_grid, to_uint8
from sngan_cli.losses import get_loss
from sngan_cli.models import build_pair
from sngan_cli.models.latent import CYCLE, draw_latent
from sngan_cli.norms import build_normalizer, raw_weight, weight_layers
from sngan_cli.training import speed
from sngan_cli.training.checkpoint import (LAST, config_differences, find_resumable, load_weights, rng_state,
                                           save_checkpoint, set_rng_state)
from sngan_cli.training.distributed import SINGLE, Distributed, claim_free_gpu, device_for, from_environment
from sngan_cli.training.guard import StopRequest, run_lock, write_status
from sngan_cli.training.monitor import Monitor
from sngan_cli.training.periodic_eval import PeriodicEvaluator

log = logging.getLogger(__name__)

MAX_RESTORES = 3  # train.on_nan=restore: consecutive roll-backs before giving up
RANK_SEED_STRIDE = 100_003  # rank r of a data-parallel run seeds with seed + r * stride (rank 0: seed)


class NonFiniteLoss(SnganError):
    pass


def resolve_device(name: str) -> torch.device:
    """``cuda:free`` resolves to ``cuda`` here; train() then claims a free GPU (distributed.claim_free_gpu)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SnganError(f"device={name} but no CUDA device is available; use device=auto or device=cpu")
    if name == "cuda:free":
        return torch.device("cuda")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise SnganError(f"device={name} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def one_d_call(D: nn.Module, device: torch.device) -> bool:
    """Whether D sees the real and the fake batch in one call (2 x batch). Only where D treats every
    sample on its own (not norm=batch, which must normalize each batch on its own) and only on a GPU:
    there it halves D's kernel launches, which is where the time goes at these batch sizes. On the
    CPU, where launches cost little, the two calls are kept (benchmarks/RESULTS.md's CPU figures)."""
    batch_coupled = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    return device.type == "cuda" and not batch_coupled


class GAN:
    """G, D, their optimizers, the normalizer and the loss of one run, and one training step."""

    def __init__(self, cfg: DictConfig, num_classes: int, device: torch.device, dist: Distributed = SINGLE) -> None:
        self.cfg, self.device, self.dist = cfg, device, dist
        # what the step reads every update, as plain dataclasses: a DictConfig lookup costs ~20 us
        self.train_opts, self.setting = OmegaConf.to_object(cfg.train), OmegaConf.to_object(cfg.setting)
        self.z_dim, self.z_distribution = cfg.arch.z_dim, cfg.arch.z_distribution
        self.num_classes = num_classes if cfg.arch.conditional else 0
        # plain attributes, not a DictConfig: torch.compile traces the normalizer's hooks without breaks
        self.normalizer = build_normalizer(SimpleNamespace(**OmegaConf.to_container(cfg.norm, resolve=True)))
        self.loss = get_loss(cfg.loss.name)
        self.G, self.D = build_pair(cfg.arch, cfg.dataset.resolution, num_classes, self.normalizer.feature_norm)
        self.normalizer.apply(self.D)
        self.G.to(device)
        self.D.to(device)
        if cfg.train.channels_last:
            speed.to_channels_last(self.G)
            speed.to_channels_last(self.D)
        dist.broadcast_module(self.G)  # every rank starts from rank 0's weights and u, v
        dist.broadcast_module(self.D)
        betas = (cfg.setting.beta1, cfg.setting.beta2)
        fused = cfg.train.fused_adam or None  # None: PyTorch's default implementation for the device
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.setting.lr, betas=betas, fused=fused)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.setting.lr, betas=betas, fused=fused)
        self.g_batch_size = cfg.train.g_batch_size or cfg.arch.g_batch_size
        # what runs each update: these functions themselves, or their compiled versions (each one
        # graph: D's normalized weights, D and the loss together); state dicts and sampling always
        # use the eager modules
        graphs = cfg.train.cuda_graphs
        self.compiled = bool(cfg.train.compile or graphs)
        if self.compiled and device.type == "cpu":
            log.warning("train.compile on the CPU: compiling takes minutes and gains little here, and torch 2.14.1's "
                        "CPU code generator gave one update's gradients off by 1%% in this project's tests "
                        "(docs/performance.md); it is meant for GPUs")
        self.G_fwd = speed.compiled(self.G, cfg.train.compile, graphs)
        self.d_loss_fn = speed.compiled(self.d_loss, cfg.train.compile, graphs)
        self.g_loss_fn = speed.compiled(self.g_loss, cfg.train.compile, graphs)
        self.before_d_step = speed.compiled(self.normalizer.before_d_step, cfg.train.compile, graphs)
        penalty = self.normalizer.has_penalty
        self.penalty = speed.compiled(self.normalizer.penalty, cfg.train.compile and penalty, graphs and penalty)
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        # a normalizer that refreshes D's weights at every call (spectral norm's every_forward) needs
        # the calls as they are: one per batch, each computing its own normalized weights (with no
        # layers listed, speed.weights_once shares nothing)
        per_call = self.normalizer.refreshes_per_forward
        self.d_one_call = one_d_call(self.D, device) and not per_call
        self.d_normalized = [] if per_call else speed.parametrized_layers(self.D)

    def autocast(self):
        return speed.autocast(self.train_opts.amp, self.device)

    def weights_once(self):
        """D's normalized weights computed once for the whole D update and shared by the loss and the
        penalty (speed.weights_once). Compiled steps leave it to ``d_loss``, inside the graph."""
        return contextlib.nullcontext() if self.compiled else speed.weights_once(self.d_normalized)

    def latent(self, n: int):
        return draw_latent(n, self.z_dim, self.z_distribution, self.num_classes, device=self.device)

    def set_lr(self, step: int) -> None:
        """Linear decay to 0 at train.steps, from setting.decay_start on, when setting.lr_decay=linear."""
        s = self.setting
        lr = s.lr
        if s.lr_decay == "linear" and step > s.decay_start:
            lr = s.lr * max(0.0, 1 - (step - s.decay_start) / max(1, self.train_opts.steps - s.decay_start))
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr

    def d_step(self, real: torch.Tensor, real_y: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        speed.step_begin(self.train_opts.cuda_graphs)
        z, fake_y = self.latent(real.shape[0])
        if real_y is None or not self.num_classes:
            real_y = None
        if self.train_opts.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), self.autocast():
            fake = self.G_fwd(z, fake_y).float()
        self.before_d_step(self.D)
        with self.weights_once():
            loss = self.d_loss_fn(real, real_y, fake, fake_y)
            penalty = None
            if self.normalizer.has_penalty:
                with self.normalizer.refresh_outside(self.D):  # eager, before a compiled penalty
                    penalty = self.penalty(self.D, real, fake, real_y)  # fp32
        total = loss if penalty is None else loss + penalty
        self.opt_D.zero_grad(set_to_none=True)
        total.backward()
        self.dist.average_gradients(self.D)
        self.opt_D.step()
        self.normalizer.after_d_step(self.D)
        out = {"loss/D": loss.detach()}
        if penalty is not None:
            out["loss/penalty"] = penalty.detach()
        return out

    def d_loss(self, real: torch.Tensor, real_y: Optional[torch.Tensor], fake: torch.Tensor,
               fake_y: Optional[torch.Tensor]) -> torch.Tensor:
        """D's loss (fp32) on a real and a fake batch; ``d_loss_fn`` runs it, compiled or not. D's
        normalized weights are computed first, in fp32, before autocast (eager: already done by
        ``weights_once`` for the whole update, and reused)."""
        with speed.weights_once(self.d_normalized):
            with self.autocast():
                real_logits, fake_logits = self.d_logits(real, real_y, fake, fake_y)
        return self.loss.d(real_logits.float(), fake_logits.float())

    def d_logits(self, real: torch.Tensor, real_y: Optional[torch.Tensor], fake: torch.Tensor,
                 fake_y: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """D's logits of the real and the fake batch: one call on both together where ``one_d_call``
        says so (the same logits), else one call per batch."""
        if not self.d_one_call or (real_y is None) != (fake_y is None):
            return self.D(real, real_y), self.D(fake, fake_y)
        labels = None if real_y is None else torch.cat([real_y, fake_y])
        logits = self.D(torch.cat([real, fake]), labels)
        return logits[:len(real)], logits[len(real):]

    def g_step(self) -> Dict[str, torch.Tensor]:
        speed.step_begin(self.train_opts.cuda_graphs)
        z, y = self.latent(self.g_batch_size)
        loss = self.g_loss_fn(z, y)
        self.opt_G.zero_grad(set_to_none=True)
        # G's gradients only: nothing is added to D's .grad (eager: nor are D's weight gradients computed)
        loss.backward(inputs=self.g_params)
        self.dist.average_gradients(self.G)
        self.opt_G.step()
        return {"loss/G": loss.detach()}

    def g_loss(self, z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """G's loss (fp32) on D's logits of G(z); ``g_loss_fn`` runs it, compiled or not. D's
        normalized weights are computed once, in fp32, before autocast."""
        with speed.weights_once(self.d_normalized):
            with self.autocast():
                logits = self.D(self.G(z, y), y)
        return self.loss.g(logits.float())

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

    def state_dict(self) -> Dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict()}

    def load_state_dict(self, state: Dict[str, Any], source: str = "the checkpoint") -> None:
        for name, part in (("G", self.G), ("D", self.D), ("opt_G", self.opt_G), ("opt_D", self.opt_D)):
            load_weights(part, state[name], source, name)


def fixed_latent(gan: GAN, n: int, seed: int):
    """The z (and labels) of the sample grids: the same for the whole run and across resumes."""
    return draw_latent(n, gan.z_dim, gan.z_distribution, gan.num_classes, CYCLE, gan.device,
                       torch.Generator().manual_seed(seed))


def resume_state(cfg: DictConfig, ckpt_dir: str, quarantine: bool = False) -> Optional[Dict[str, Any]]:
    ckpt = find_resumable(ckpt_dir, quarantine=quarantine)
    if ckpt is None:
        return None
    differences = config_differences(ckpt["config"], OmegaConf.to_container(cfg, resolve=True), RESUMABLE_KEYS)
    if differences:
        raise SnganError(f"{ckpt_dir} holds a run with another configuration; choose another name=... "
                         f"or hydra.run.dir=... to start a new run. Differences: {'; '.join(differences)}")
    return ckpt


def train(cfg: DictConfig, run_dir: str) -> Dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; return its final step and directory.

    Under ``torchrun`` every rank calls this with the same config and directory."""
    validate(cfg)
    resolve_device(cfg.device)  # refuse device=cuda without CUDA before touching the run directory
    dist = from_environment(cfg.device)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    with contextlib.ExitStack() as held:
        # rank 0 takes the run lock; the others learn whether it could, and stop with it if not
        _on_main(dist, lambda: held.enter_context(run_lock(run_dir)))
        device = device_for(dist, resolve_device(cfg.device))
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
                _record_failure(run_dir, saved["step"], e)
            raise
        if stop.requested:
            if dist.is_main:
                write_status(run_dir, "interrupted", step)
                print(f"sngan train: stopped by signal {stop.signal} at step {step}; checkpoint saved in {ckpt_dir}; "
                      f"rerun the same command to resume", file=sys.stderr, flush=True)
            raise SystemExit(128 + stop.signal)
        if dist.is_main:
            write_status(run_dir, "finished", step)
    log.info("finished %s at step %d", run_dir, step)
    return {"step": step, "run_dir": run_dir}


def _record_failure(run_dir: str, step: int, error: Exception) -> None:
    """status.json says failed, at the step of the last good checkpoint; when even that cannot be
    written (a full disk), the "running" status of that checkpoint stays, and the error goes on."""
    try:
        write_status(run_dir, "failed", step, f"{type(error).__name__}: {error}")
    except SnganError as e:
        log.error("%s", e)


def _on_main(dist: Distributed, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0; the other ranks get its result, or raise its error (SnganError)."""
    if not dist.enabled:
        return fn()
    result, error = None, None
    if dist.is_main:
        try:
            result = fn()
        except SnganError as e:
            error = e
    result, message = dist.broadcast_object((result, None if error is None else str(error)))
    if error is not None:
        raise error
    if message is not None:
        raise SnganError(message)
    return result


def _train_from(cfg: DictConfig, run_dir: str, resumed: Optional[Dict[str, Any]], stop: StopRequest,
                dist: Distributed = SINGLE, device: Optional[torch.device] = None,
                saved: Optional[Dict[str, int]] = None) -> int:
    """Build the run (D -> normalizer -> checkpoint -> optimizers -> compile), then loop; return the last step."""
    device = device or device_for(dist, resolve_device(cfg.device))
    speed.configure_backends(cfg.train.tf32, device)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    seed_everything(cfg.seed + RANK_SEED_STRIDE * dist.rank)
    data = load_dataset(cfg.dataset.name, cfg.dataset.root, cfg.dataset.resolution, cfg.dataset.download,
                        recursive=cfg.dataset.recursive, split=cfg.dataset.split, antialias=cfg.dataset.antialias)
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

    def checkpoint(step: int) -> None:
        gan.sync_buffers()
        rngs = dist.all_gather_object(rng_state())  # every rank's RNG: a resume continues each stream
        if dist.is_main:
            extra = {"rng_ranks": rngs, "world_size": dist.world_size} if dist.enabled else {}
            save_checkpoint({"step": step, **gan.state_dict(), "num_classes": gan.num_classes,
                             "data": batches.state_dict(), "rng": rngs[0], **extra,
                             "config": OmegaConf.to_container(cfg, resolve=True), "version": __version__}, ckpt_dir)
            write_status(run_dir, "running", step)  # status.json names the last good checkpoint's step
        if saved is not None:
            saved["step"] = step
        dist.barrier()  # nobody goes on (or reads it back) before the checkpoint is complete

    restores = 0
    while True:
        try:
            return _loop(cfg, gan, batches, run_dir, start, checkpoint, stop)
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
        seed_everything(cfg.seed + RANK_SEED_STRIDE * dist.rank + 1_000_003 * step)
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
    new_seed = cfg.seed + 1_000_003 * (restores + 1) + int(ckpt["step"])
    seed_everything(new_seed + RANK_SEED_STRIDE * gan.dist.rank)
    log.warning("%s; restored step %d and continuing with seed %d", error, ckpt["step"], new_seed)
    return int(ckpt["step"])


def _kept(run_dir: str) -> str:
    """What a stopped run leaves to resume from: the last good checkpoint, or nothing yet."""
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if os.path.exists(os.path.join(ckpt_dir, LAST)):
        return f"the last good checkpoint is kept in {ckpt_dir}"
    return "no checkpoint had been written yet, so nothing is kept"


def _loop(cfg: DictConfig, gan: GAN, batches: BatchStream, run_dir: str, start: int,
          checkpoint: Callable[[int], None], stop: StopRequest) -> int:
    """Steps start+1 .. train.steps; returns the last step done (earlier when a stop is requested)."""
    dist, train, n_dis = gan.dist, gan.train_opts, gan.setting.n_dis  # plain values in the loop
    grid_z, grid_y = fixed_latent(gan, cfg.train.n_samples_grid, cfg.seed)
    evaluate = PeriodicEvaluator(cfg, run_dir, gan.device) if cfg.train.eval_every and dist.is_main else None
    monitor = Monitor(run_dir, start, cfg.train.steps) if dist.is_main else None
    sums: Dict[str, torch.Tensor] = {}
    counted = 0
    step = start
    try:
        for step in range(start + 1, train.steps + 1):
            gan.set_lr(step)
            for _ in range(n_dis):
                d_terms = gan.d_step(*batches.next())
            terms = {**d_terms, **gan.g_step()}
            for k, v in terms.items():  # accumulated on the device: no host sync per step
                sums[k] = sums.get(k, 0) + v
            counted += 1

            stopping = stop.requested  # read once: a signal arriving later is honoured next step
            if dist.enabled:  # all ranks stop at the same step (a host-side flag, no device sync)
                stopping = dist.any(stopping)
                if stopping and not stop.requested:
                    stop.signal = int(signal.SIGTERM)
            last = step == train.steps or stopping
            log_now, ckpt_now = step % train.log_every == 0 or last, step % train.ckpt_every == 0 or last
            if log_now or ckpt_now:
                sums = dist.average_scalars(sums)  # the same numbers, and the same verdicts, on every rank
            if log_now:
                means = {k: float(v) / counted for k, v in sums.items()}
                bad = [k for k, v in means.items() if not np.isfinite(v)]
                if bad:
                    raise NonFiniteLoss(f"non-finite {', '.join(bad)} between steps {step - counted + 1} and {step}; "
                                        f"{_kept(run_dir)}")
                if monitor is not None:
                    means["time/step_s"] = monitor.progress(step, means)
                    monitor.scalars(step, {**means, **gan.sigmas()})
                sums, counted = {}, 0
            if step % train.sample_every == 0 or last:
                gan.sync_buffers()  # G's BN running statistics, averaged over the ranks
                if monitor is not None:
                    image = square_grid(to_uint8(gan.sample(grid_z, grid_y), cfg.eval.quantize))
                    save_png(image, os.path.join(run_dir, "samples", f"step_{step:07d}.png"))
                    monitor.image(step, "samples", image)
            if train.eval_every and (step % train.eval_every == 0 or last):
                gan.sync_buffers()
                if evaluate is not None:
                    monitor.scalars(step, evaluate(gan, step))
            if ckpt_now:
                if sums and not all(torch.isfinite(v).all() for v in sums.values()):
                    raise NonFiniteLoss(f"non-finite loss before step {step}; {_kept(run_dir)}")
                checkpoint(step)
            if stopping:
                break
    finally:
        if monitor is not None:
            monitor.close()
    return step
