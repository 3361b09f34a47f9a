"""Orthonormal regularization (Brock et al. 2016): orthogonal init of every D weight plus
beta * sum over layers of ||W^T W - I||_F^2.

For a non-square W (d_out x d_in, conv kernels flattened) the Gram matrix of the smaller side is
used (W W^T when d_out <= d_in), the one that can equal I: the penalty of a semi-orthogonal W is 0.
"""
from dataclasses import dataclass

import torch
from torch import nn

from sngan_cli.config import non_negative
from sngan_cli.norms import NormConfig, Normalizer, raw_weight, register, weight_layers


@dataclass
class OrthonormalConfig(NormConfig):
    ortho_beta: float = non_negative(1e-4)  # beta: the penalty's weight


def orthonormal_penalty(weight: torch.Tensor) -> torch.Tensor:
    matrix = weight.flatten(1)
    if matrix.shape[0] > matrix.shape[1]:
        matrix = matrix.t()
    gram = matrix @ matrix.t()
    return (gram - torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)).pow(2).sum()


@register("orthonormal", OrthonormalConfig)
class OrthonormalRegularization(Normalizer):
    @torch.no_grad()
    def apply(self, D: nn.Module) -> None:
        for _, module in weight_layers(D):
            nn.init.orthogonal_(raw_weight(module))

    def penalty(self, D, real, fake, labels):
        return self.params.ortho_beta * sum(orthonormal_penalty(raw_weight(m)) for _, m in weight_layers(D))
