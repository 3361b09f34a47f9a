"""An exponential moving average of G's weights (``train.ema``; beyond the paper, which evaluates G
itself): G_ema <- decay * G_ema + (1 - decay) * G after each G update from ``train.ema_start`` on,
a plain copy of G before it. BN running statistics are copied from G at every update rather than
averaged, as StudioGAN does, so G_ema normalizes with G's current statistics.

It only reads G: G and D train exactly as without it. It is saved in the checkpoint (``G_ema``) and
resumes bit for bit; ``sngan eval``, ``sample`` and ``export`` use it with ``g=ema``.
"""
from __future__ import annotations

import copy
from typing import Any, Dict

import torch
from torch import nn


class GeneratorEMA:
    def __init__(self, G: nn.Module, decay: float, start: int) -> None:
        self.decay, self.start = decay, start
        self.G = copy.deepcopy(G).requires_grad_(False)

    @torch.no_grad()
    def update(self, G: nn.Module, step: int) -> None:
        """After G's update at ``step`` (1-based)."""
        ema, current = list(self.G.parameters()), list(G.parameters())
        if step < self.start:
            torch._foreach_copy_(ema, current)
        else:
            torch._foreach_mul_(ema, self.decay)
            torch._foreach_add_(ema, current, alpha=1 - self.decay)
        for mine, theirs in zip(self.G.buffers(), G.buffers()):
            mine.copy_(theirs)

    def state_dict(self) -> Dict[str, Any]:
        return self.G.state_dict()
