"""Data-parallel training of one run over several processes (``torchrun --nproc_per_node=N``).

Every rank holds the full G and D, draws its own slice of each global batch (data/batches.py) and
its own latent vectors, and averages gradients with the others before each optimizer step, so all
ranks take the same step, as with DistributedDataParallel (DDP). The averaging is one bucketed
``all_reduce`` per optimizer step, done explicitly rather than through the DDP wrapper, because an
update calls D two or three times (real, fake, gradient penalty with a double backward) and G both
without and with gradients: DDP's reducer allows neither several forwards per backward nor double
backward, and its buffer broadcast at every forward would overwrite G's BN running statistics
between the calls of one step (the known BN + DDP issue).

What stays consistent, and how:
- parameters and buffers start equal: rank 0's are broadcast after the build (rank 0 is seeded
  exactly like a one-process run);
- spectral norm's u and v are updated from W in ``before_d_step`` (a deterministic computation on
  identical W and u), so they stay bit-identical without communication;
- BN in G (and in D for norm=batch) normalizes with per-rank batch statistics, as standard DDP does;
  the running statistics drift apart between steps and are averaged before anything reads them
  (sample grids, evaluation, checkpoints). The running averages are linear in the batch statistics,
  so averaging them late equals averaging them at every step.

With one process (no ``WORLD_SIZE`` in the environment, or 1) every method is a no-op.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import tempfile
from typing import Any, Callable, List, Optional

import torch
import torch.distributed as dist
from torch import nn

from sngan_cli import SnganError

log = logging.getLogger(__name__)


class Distributed:
    """Rank, world size and the few collectives the loop needs."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0,
                 cpu_group: Optional[Any] = None) -> None:
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank
        self.cpu_group = cpu_group  # gloo group for host-side flags and objects (no device sync)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def average_gradients(self, module: nn.Module) -> None:
        """Average the gradients of ``module`` over the ranks: one all_reduce for all of them."""
        if not self.enabled:
            return
        self._average_in_place([p.grad for p in module.parameters() if p.grad is not None])

    def _average_in_place(self, tensors: list) -> None:
        """Replace each tensor by its mean over the ranks: one all_reduce for all of them."""
        if not tensors:
            return
        flat = torch._utils._flatten_dense_tensors(tensors)
        dist.all_reduce(flat)
        flat.div_(self.world_size)
        for t, synced in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors)):
            t.copy_(synced)

    @torch.no_grad()
    def broadcast_module(self, module: nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers."""
        if not self.enabled:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)

    @torch.no_grad()
    def average_batchnorm_stats(self, module: nn.Module) -> None:
        """Average the running mean and variance of every BN layer over the ranks."""
        if not self.enabled:
            return
        self._average_in_place([t for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                                for t in (m.running_mean, m.running_var) if t is not None])

    def average_scalars(self, values: dict) -> dict:
        """Mean over the ranks of a dict of device scalars (the loss sums at a logging step)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        flat = torch.stack([torch.as_tensor(values[k], dtype=torch.float32) for k in keys])
        dist.all_reduce(flat)
        flat.div_(self.world_size)
        return dict(zip(keys, flat.unbind()))

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (host-side, over gloo: no device sync)."""
        if not self.enabled:
            return flag
        t = torch.tensor([int(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.cpu_group)
        return bool(t.item())

    def all_gather_object(self, obj: Any) -> List[Any]:
        if not self.enabled:
            return [obj]
        out: List[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj, group=self.cpu_group)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        """rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, group=self.cpu_group)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier(group=self.cpu_group)

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on rank 0; the other ranks get its result, or raise its error (SnganError)."""
        if not self.enabled:
            return fn()
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except SnganError as e:
                error = e
        result, message = self.broadcast_object((result, None if error is None else str(error)))
        if error is not None:
            raise error
        if message is not None:
            raise SnganError(message)
        return result


SINGLE = Distributed()


def from_environment(device_name: str) -> Distributed:
    """Join the process group that ``torchrun`` describes in RANK / WORLD_SIZE / LOCAL_RANK.

    NCCL on CUDA (each rank on cuda:LOCAL_RANK), gloo on the CPU. Without those variables, or with
    WORLD_SIZE=1, the run is a plain one-process run.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(minutes=30))
    cpu_group = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
    if rank != 0:  # one voice on the console: the other ranks only warn
        logging.getLogger("sngan_cli").setLevel(logging.WARNING)
        logging.getLogger("sngan").setLevel(logging.WARNING)
    return Distributed(rank, world_size, local_rank, cpu_group)


def device_for(d: Distributed, device: torch.device) -> torch.device:
    """cuda:LOCAL_RANK for a CUDA data-parallel run, else ``device``."""
    if d.enabled and device.type == "cuda":
        return torch.device("cuda", d.local_rank)
    return device


def claim_free_gpu(held: contextlib.ExitStack) -> torch.device:
    """``device=cuda:free``: the first GPU of this machine that no other sngan run holds.

    Each GPU i has a lock file ``$TMPDIR/sngan-gpu-<uid>-<i>.lock``; the run holds an ``flock`` on it
    (kept in ``held``) until it ends, and the kernel releases it when the process dies. Jobs of a local
    sweep (``hydra/launcher=joblib`` with ``n_jobs`` = number of GPUs) thus spread one per GPU, and a
    job started when another finishes takes the GPU that job freed. CUDA_VISIBLE_DEVICES, when set,
    limits the candidates as usual.
    """
    n = torch.cuda.device_count()
    for index in range(n):
        path = os.path.join(tempfile.gettempdir(), f"sngan-gpu-{os.getuid()}-{index}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        held.callback(os.close, fd)
        torch.cuda.set_device(index)
        log.info("device=cuda:free: using cuda:%d", index)
        return torch.device("cuda", index)
    raise SnganError(f"device=cuda:free: all {n} GPU(s) of this machine are held by other sngan runs; "
                     f"run fewer jobs at once (hydra.launcher.n_jobs={n})")
