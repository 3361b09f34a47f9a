"""The reparametrization of Appendix E (Eq. 32): W = gamma * W_normalized, gamma learned.

gamma gives up the layer's Lipschitz bound, so the paper controls it with the gradient penalty
instead (Table 7): every scaled normalizer adds ``norm.gp_lambda`` times the penalty to D's loss
(0 turns it off). gamma starts at the norm the weight is divided by (``norm.gamma_init=null``), so
the scaled weight equals W at step 0, as the authors' SN layers with ``use_gamma`` start from
sigma(W_init) (docs/fidelity.md); a number starts every gamma there instead. The scaled normalizers (``spectral_gamma``, ``weight_gamma``, ``frobenius_gamma``)
each combine one normalization with this scale in their own small file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.config import positive
from sngan_cli.norms import Normalizer, raw_weight, weight_layers
from sngan_cli.norms.gp import GradientPenaltyConfig, gradient_penalty


@dataclass
class ScaledConfig(GradientPenaltyConfig):
    """The gradient penalty's weight (0: none), and where gamma starts."""

    # null: the norm the weight is divided by (sigma(W), ||w_i||, ||W||_F): W-tilde = W at step 0
    gamma_init: Optional[float] = positive(None)


class LearnableScale(nn.Module):
    """Multiplies the weight by a learned scalar, or by one learned value per output row."""

    def __init__(self, init: torch.Tensor) -> None:
        super().__init__()
        self.gamma = nn.Parameter(init.detach().clone().float())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.gamma.dim() == 0:
            return self.gamma * weight
        return self.gamma.view(-1, *([1] * (weight.dim() - 1))) * weight


class ScaledWithPenalty(Normalizer):
    """Mixin: after the normalization's own ``apply``, scale each weight by gamma; add the penalty.

    Subclasses list this class first and define ``divisor`` (per output row where a scalar is not
    what the method means: weight normalization's original form has one gamma per row).
    """

    @staticmethod
    def divisor(weight: torch.Tensor) -> torch.Tensor:
        """What the normalization divides ``weight`` by: a scalar, or one value per output row."""
        raise NotImplementedError

    def apply(self, D: nn.Module) -> None:
        initial = {name: self.divisor(raw_weight(module).detach().float()) for name, module in weight_layers(D)}
        super().apply(D)
        for name, module in list(weight_layers(D)):
            init = initial[name]
            if self.params.gamma_init is not None:
                init = torch.full_like(init, self.params.gamma_init)
            parametrize.register_parametrization(module, "weight", LearnableScale(init))

    def penalty(self, D, real, fake, labels):
        if self.params.gp_lambda == 0:
            return None
        return self.params.gp_lambda * gradient_penalty(D, real, fake, labels)
