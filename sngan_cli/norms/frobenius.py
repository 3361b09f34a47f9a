"""Frobenius normalization (Appendix E, Table 7): W / ||W||_F."""
import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import Normalizer, register, weight_layers


class FrobeniusNormalizedWeight(nn.Module):
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight / weight.norm().clamp_min(1e-12)


@register("frobenius")
class FrobeniusNormalization(Normalizer):
    def apply(self, D: nn.Module) -> None:
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(module, "weight", FrobeniusNormalizedWeight())
