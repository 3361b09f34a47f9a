"""An exponential moving average of G's weights (``train.ema``; beyond the paper, which evaluates G
itself): G_ema <- decay * G_ema + (1 - decay) * G after each G update from ``train.ema_start`` on,
a plain copy of G before it. BN running statistics are copied from G at every update rather than
averaged, as StudioGAN does, so G_ema normalizes with G's current statistics.

It only reads G: G and D train exactly as without it. It is saved in the checkpoint (``G_ema``) and
resumes bit for bit; ``sngan eval``, ``sample`` and ``export`` use it with ``g=ema``.
"""
from __future__ import annotations

import copy
import torch
from torch import nn


class GeneratorEMA:
    """The moving average ``G`` of the generator ``source`` (the same module for the whole run)."""

    def __init__(self, source: nn.Module, decay: float, start: int) -> None:
        self.decay, self.start = decay, start
        self.G = copy.deepcopy(source).requires_grad_(False)
        self._params = list(self.G.parameters()), list(source.parameters())
        self._buffers = list(self.G.buffers()), list(source.buffers())

    @torch.no_grad()
    def update(self, step: int) -> None:
        """After the source's update at ``step`` (1-based)."""
        ema, current = self._params
        if step < self.start:
            torch._foreach_copy_(ema, current)
        else:
            torch._foreach_mul_(ema, self.decay)
            torch._foreach_add_(ema, current, alpha=1 - self.decay)
        torch._foreach_copy_(*self._buffers)
