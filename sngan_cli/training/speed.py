"""Speed options of a run (``train.channels_last``, ``train.tf32``, ``train.compile``,
``train.cuda_graphs``, ``train.amp``).

Each changes how the same computation is executed, not what is computed; all are off by default
(docs/performance.md says why and what each is expected to give on a GPU).

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
  a new graph step (``step_begin``), so no tensor of an earlier update is read after its memory is
  reused; the compiled functions that update buffers in place (the power iteration's u, v; BN's
  running statistics) are run without graphs where PyTorch cannot graph them. No effect beyond
  ``compile`` on the CPU.
- ``amp=bf16``: G's and D's forward passes under bfloat16 autocast. Parametrized weights (spectral
  norm's sigma = u^T W v included) are computed in fp32 before the autocast region (``weights_once``,
  used with or without amp: once per D or G update when eager, once per compiled graph otherwise),
  the losses are taken in fp32, and the gradient penalty runs entirely in fp32 (Sec. 6 of the SPEC:
  NaN losses with mixed precision and GP). bf16 has fp32's range, so no loss scaling is needed.
"""
from __future__ import annotations

import contextlib
from enum import StrEnum
from typing import Callable, Iterator, List, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import weight_layers


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


def step_begin(cuda_graphs: bool) -> None:
    """Mark the start of a G or D update for CUDA graph trees: the tensors earlier graphs returned
    are no longer needed, so their memory may be reused."""
    if cuda_graphs:
        torch.compiler.cudagraph_mark_step_begin()
