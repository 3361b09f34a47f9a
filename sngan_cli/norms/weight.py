"""Weight normalization without the learnable scale (Sec. 4, footnote 8): each row w_i of W is
divided by its l2 norm, so W_WN = [w_1/||w_1||, ..., w_do/||w_do||]^T (gamma_i = 1)."""
import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import Normalizer, register, weight_layers


class RowNormalizedWeight(nn.Module):
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        norms = weight.flatten(1).norm(dim=1).clamp_min(1e-12)
        return weight / norms.view(-1, *([1] * (weight.dim() - 1)))


@register("weight")
class WeightNormalization(Normalizer):
    def apply(self, D: nn.Module) -> None:
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(module, "weight", RowNormalizedWeight())
