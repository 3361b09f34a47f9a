"""How a run's updates execute fast: ``accelerate`` takes the plain GAN of training/loop.py (Algorithm
1, eager, fp32) and replaces the parts its updates call with faster versions of the same
computation. Everything that exists only for speed lives here.

Always on, where they apply (they change no number):

- the normalized-weight cache (``weights_once``): D's parametrized weights computed once per update
  and shared by every call of D in it, where the normalizer allows (not spectral norm's
  ``every_forward``, which refreshes u at every call);
- one call of D on the real and the fake batch together (``one_d_call``): on a GPU only, and not for a
  D that normalizes each batch (norm=batch) or refreshes at every call.

The options (``train.channels_last``, ``train.tf32``, ``train.compile``, ``train.cuda_graphs``,
``train.amp``), all off by default (docs/performance.md says why and what each gives on a GPU):

- ``channels_last``: G, D and the real batches in NHWC memory layout (faster convolutions on tensor
  cores); numerically the same operations.
- ``tf32``: float32 matmuls and cuDNN convolutions may use TensorFloat-32 on Ampere and newer GPUs
  (10-bit mantissa inputs, fp32 accumulation). No effect on the CPU.
- ``compile``: ``torch.compile`` of the functions each update runs: G's forward (the D update's fake
  batch), D's loss and G's loss (each with D's normalized weights, D and the loss in one graph),
  the normalizer's per-update work (spectral norm's power iteration) and its penalty (the gradient
  penalty's double backward included: norms/gp.py).
- ``cuda_graphs``: the same compilation in ``mode="reduce-overhead"``: on CUDA, PyTorch's CUDA graph
  trees replay each compiled forward and backward as one graph launch. Every G and D update starts
  a new graph step (at its first compiled call), so no tensor of an earlier update is read after its memory is
  reused; the compiled functions that update buffers in place (the power iteration's u, v; BN's
  running statistics) are run without graphs where PyTorch cannot graph them. No effect beyond
  ``compile`` on the CPU.
- ``amp=bf16``: G's and D's forward passes under bfloat16 autocast. Parametrized weights (spectral
  norm's sigma = u^T W v included) are computed in fp32 before the autocast region (``weights_once``,
  used with or without amp: once per D or G update when eager, once per compiled graph otherwise),
  the losses are taken in fp32, and the gradient penalty runs entirely in fp32 (mixed precision and
  the gradient penalty give NaN losses: docs/performance.md). bf16 has fp32's range, so no loss scaling is needed.
"""
from __future__ import annotations

import contextlib
import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import weight_layers

if TYPE_CHECKING:
    from sngan_cli.training.loop import GAN

log = logging.getLogger(__name__)


class Amp(StrEnum):
    """``train.amp``."""

    none = "none"
    bf16 = "bf16"  # bfloat16 autocast of G's and D's forward passes


def configure_backends(tf32: bool, device: torch.device) -> None:
    """train.tf32=true: allow TF32 in CUDA matmuls and cuDNN convolutions. False leaves PyTorch's
    defaults as they are (process-wide settings)."""
    if tf32 and device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager:
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def parametrized_layers(D: nn.Module) -> List[nn.Module]:
    """D's layers whose weight is parametrized (normalized): what ``weights_once`` computes."""
    return [module for _, module in weight_layers(D) if parametrize.is_parametrized(module, "weight")]


@contextlib.contextmanager
def weights_once(layers: Sequence[nn.Module]) -> Iterator[None]:
    """Within the block every parametrized weight of ``layers`` (``parametrized_layers(D)``) is
    computed once, here, in fp32 (before any autocast region), and reused by every call of D: the
    real and fake calls, the gradient penalty's, and the backward pass. The values are those each
    call would compute; only the repeated normalization kernels go (fewer launches per update on a
    GPU), and a later autocast only casts the finished weight. Inside an enclosing ``weights_once``
    it does nothing: the weights are computed already; so it does with no layers."""
    if parametrize._cache_enabled or not layers:
        yield
        return
    with parametrize.cached():
        for module in layers:
            module.weight  # noqa: B018  (fills the cache)
        yield


def to_channels_last(module: nn.Module) -> nn.Module:
    return module.to(memory_format=torch.channels_last)


def compiled(fn: Callable, enabled: bool, cuda_graphs: bool = False) -> Callable:
    """``fn`` itself, or ``torch.compile`` of it (``cuda_graphs``: in reduce-overhead mode, which
    compiles too)."""
    if cuda_graphs:
        return torch.compile(fn, mode="reduce-overhead")
    return torch.compile(fn) if enabled else fn


def _step_begin(cuda_graphs: bool) -> None:
    """Mark the start of a G or D update for CUDA graph trees: the tensors earlier graphs returned
    are no longer needed, so their memory may be reused."""
    if cuda_graphs:
        torch.compiler.cudagraph_mark_step_begin()


def kept(tensor: Optional[torch.Tensor], cuda_graphs: bool) -> Optional[torch.Tensor]:
    """A CUDA graph's output as a tensor of its own: the graph's outputs live in memory that the next
    update's replays reuse (after ``_step_begin``), so a loss the loop keeps past its update (the log's
    sums) is copied out first. The copy is part of autograd's graph, so backward is unchanged."""
    return tensor.clone() if cuda_graphs and tensor is not None else tensor


def one_d_call(D: nn.Module, device: torch.device) -> bool:
    """Whether D sees the real and the fake batch in one call (2 x batch). Only where D treats every
    sample on its own (not norm=batch, which must normalize each batch on its own) and only on a GPU:
    there it halves D's kernel launches, which is where the time goes at these batch sizes. On the
    CPU, where launches cost little, the two calls are kept (benchmarks/RESULTS.md's CPU figures)."""
    batch_coupled = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    return device.type == "cuda" and not batch_coupled


def accelerate(gan: "GAN", opts, d_once: Optional[bool] = None) -> "FastSteps":
    """Replace ``gan``'s ``fake_batch``, ``d_objective`` and ``g_objective`` with their fast forms
    under ``opts`` (``train.*``); return those forms. Call it last, after any checkpoint is loaded."""
    fast = FastSteps(gan, opts, d_once)
    gan.fake_batch, gan.d_objective, gan.g_objective = fast.fake_batch, fast.d_objective, fast.g_objective
    return fast


class FastSteps:
    """The parts of GAN's updates, computing the same with: D's normalized weights cached for the
    update, D called once on both batches, channels_last, autocast, compiled, CUDA graphs.
    ``d_once`` overrides ``one_d_call``'s choice (benchmarks count on a CPU what a GPU run does)."""

    def __init__(self, gan: "GAN", opts, d_once: Optional[bool] = None) -> None:
        self.G, self.D, self.normalizer, self.loss, self.device = gan.G, gan.D, gan.normalizer, gan.loss, gan.device
        self.amp, self.channels_last = opts.amp, opts.channels_last
        self.compile, self.graphs = bool(opts.compile or opts.cuda_graphs), bool(opts.cuda_graphs)
        configure_backends(opts.tf32, self.device)
        if self.compile and self.device.type == "cpu":
            log.warning("train.compile on the CPU: compiling takes minutes and gains little here, and one CPU code "
                        "generator gave gradients 1%% off (docs/performance.md); it is meant for GPUs")
        if self.channels_last:
            to_channels_last(self.G)
            to_channels_last(self.D)
        per_call = self.normalizer.refreshes_per_forward  # each call of D computes its own normalized weights
        self.cached = [] if per_call else parametrized_layers(self.D)
        self.d_once = (one_d_call(self.D, self.device) if d_once is None else d_once) and not per_call
        self.has_penalty = self.normalizer.has_penalty
        compile_, graphs = self.compile, self.graphs
        self.G_fast = compiled(self.G, compile_, graphs)
        self.d_loss_fast = compiled(self.d_loss, compile_, graphs)
        self.g_loss_fast = compiled(self.g_loss, compile_, graphs)
        self.penalty_fast = compiled(self.normalizer.penalty, compile_ and self.has_penalty, graphs and self.has_penalty)
        if compile_:
            self.normalizer.before_d_step = compiled(self.normalizer.before_d_step, True, graphs)

    def precision(self) -> contextlib.AbstractContextManager:
        return autocast(self.amp, self.device)

    def d_logits(self, real, real_y, fake, fake_y) -> Tuple[torch.Tensor, torch.Tensor]:
        """D's logits of both batches: one call on both together where ``d_once``, else one per batch."""
        if not self.d_once or (real_y is None) != (fake_y is None):
            return self.D(real, real_y), self.D(fake, fake_y)
        labels = None if real_y is None else torch.cat([real_y, fake_y])
        logits = self.D(torch.cat([real, fake]), labels)
        return logits[:len(real)], logits[len(real):]

    def d_loss(self, real, real_y, fake, fake_y) -> torch.Tensor:
        """D's loss, in fp32; D's normalized weights computed first, in fp32, before autocast."""
        with weights_once(self.cached), self.precision():
            real_logits, fake_logits = self.d_logits(real, real_y, fake, fake_y)
        return self.loss.d(real_logits.float(), fake_logits.float())

    def g_loss(self, z, y) -> torch.Tensor:
        """G's loss, in fp32; D's normalized weights computed first, in fp32, before autocast."""
        with weights_once(self.cached), self.precision():
            logits = self.D(self.G(z, y), y)
        return self.loss.g(logits.float())

    @torch.no_grad()
    def fake_batch(self, z, y) -> torch.Tensor:
        _step_begin(self.graphs)  # the D update's first compiled call
        with self.precision():
            return self.G_fast(z, y).float()

    def d_objective(self, real, real_y, fake, fake_y) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        # eager: the weights computed once for the loss and the penalty; compiled: inside each graph
        with contextlib.nullcontext() if self.compile else weights_once(self.cached):
            loss = self.d_loss_fast(real, real_y, fake, fake_y)
            penalty = None
            if self.has_penalty:
                with self.normalizer.refresh_outside(self.D):  # eager, before a compiled penalty
                    penalty = self.penalty_fast(self.D, real, fake, real_y)  # fp32
        return kept(loss, self.graphs), kept(penalty, self.graphs)

    def g_objective(self, z, y) -> torch.Tensor:
        _step_begin(self.graphs)  # the G update's first compiled call
        return kept(self.g_loss_fast(z, y), self.graphs)
