"""The reparametrization of Appendix E (Eq. 32): W = gamma * W_normalized, gamma learned.

gamma gives up the layer's Lipschitz bound, so the paper controls it with the gradient penalty
instead (Table 7): every scaled normalizer adds ``norm.gp_lambda`` times the penalty to D's loss
(0 turns it off). The scaled normalizers (``spectral_gamma``, ``weight_gamma``, ``frobenius_gamma``)
each combine one normalization with this scale in their own small file.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import Normalizer, weight_layers
from sngan_cli.norms.gp import gradient_penalty


class LearnableScale(nn.Module):
    """Multiplies the weight by a learned scalar, or by one learned value per output row."""

    def __init__(self, init: float, rows: int = 0) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((rows,) if rows else (), float(init)))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.gamma.dim() == 0:
            return self.gamma * weight
        return self.gamma.view(-1, *([1] * (weight.dim() - 1))) * weight


class ScaledWithPenalty(Normalizer):
    """Mixin: after the normalization's own ``apply``, scale each weight by gamma; add the penalty.

    Subclasses list this class first and set ``per_row`` (vectorized gamma, as in weight
    normalization's original form) where a scalar is not what the method means.
    """

    per_row = False

    def apply(self, D: nn.Module) -> None:
        super().apply(D)
        for _, module in list(weight_layers(D)):
            rows = module.weight.shape[0] if self.per_row else 0
            parametrize.register_parametrization(module, "weight", LearnableScale(self.params.gamma_init, rows))

    def penalty(self, D, real, fake, labels):
        if self.params.gp_lambda == 0:
            return None
        return self.params.gp_lambda * gradient_penalty(D, real, fake, labels)
