"""Spectral normalization with a learnable scalar scale (Appendix E, Eq. 32): W = gamma * W_SN.

gamma relaxes the 1-Lipschitz constraint of the layer; the paper pairs it with a gradient penalty
(Table 7), which here is ``norm.gp_lambda`` (0 turns the penalty off).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import register, weight_layers
from sngan_cli.norms.gp import gradient_penalty
from sngan_cli.norms.spectral import SpectralNormalization


class LearnableScale(nn.Module):
    def __init__(self, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.tensor(float(init)))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self.gamma * weight


@register("spectral_gamma")
class SpectralNormalizationWithScale(SpectralNormalization):
    def apply(self, D: nn.Module) -> None:
        super().apply(D)
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(module, "weight", LearnableScale(self.params.gamma_init))

    def penalty(self, D, real, fake, labels):
        if self.params.gp_lambda == 0:
            return None
        return self.params.gp_lambda * gradient_penalty(D, real, fake, labels)
