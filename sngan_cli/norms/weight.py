"""Weight normalization without the learnable scale (Sec. 4, footnote 8): each row w_i of W is
divided by its l2 norm, so W_WN = [w_1/||w_1||, ..., w_do/||w_do||]^T (gamma_i = 1)."""
import torch
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import Normalizer, register, weight_layers


class RowNormalizedWeight(nn.Module):
    """W -> each row divided by its l2 norm, by PyTorch's fused weight-norm kernel (one operation
    forward and one backward) with its per-row scale g held at 1 (a constant, not saved)."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("g", weight.new_ones(weight.shape[0], *([1] * (weight.dim() - 1))), persistent=False)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return torch._weight_norm(weight, self.g, 0)


@register("weight")
class WeightNormalization(Normalizer):
    def apply(self, D: nn.Module) -> None:
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(module, "weight", RowNormalizedWeight(module.weight))
