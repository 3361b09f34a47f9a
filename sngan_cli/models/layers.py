"""Building blocks shared by the generators and discriminators."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn


def scaled(channels: int, multiplier: float) -> int:
    """A channel count times a width multiplier, at least 1."""
    return max(1, int(round(channels * multiplier)))


class GeneratorBatchNorm(nn.Module):
    """G's batch norm: plain BN, or conditional BN (per-class gain and bias) when num_classes > 0."""

    def __init__(self, channels: int, num_classes: int = 0) -> None:
        super().__init__()
        self.conditional = num_classes > 0
        self.bn = nn.BatchNorm2d(channels, affine=not self.conditional)
        if self.conditional:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.bn(x)
        if self.conditional:
            h = h * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]
        return h
