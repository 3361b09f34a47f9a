"""Spectral normalization (Sec. 2.1, Algorithm 1): W_SN = K * W / sigma(W).

sigma(W) = u^T W v with u, v from power iteration on W seen as d_out x (d_in*h*w). u and v are
persistent buffers (saved in checkpoints) refreshed by ``n_power_iterations`` steps exactly once per
D update, before it (Algorithm 1). The forward pass itself never changes them, so every call of D
within an update (real, fake, gradient penalty, the G update) sees the same sigma, whatever the
number of calls, and eval mode changes nothing.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.norms import Normalizer, raw_weight, register, weight_layers


class SpectralNormWeight(nn.Module):
    """Parametrization W -> K * W / (u^T W v)."""

    def __init__(self, weight: torch.Tensor, lipschitz: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        rows, cols = weight.shape[0], weight[0].numel()
        self.lipschitz = lipschitz
        self.eps = eps
        self.register_buffer("u", F.normalize(weight.new_empty(rows).normal_(), dim=0, eps=eps))
        self.register_buffer("v", F.normalize(weight.new_empty(cols).normal_(), dim=0, eps=eps))

    @torch.no_grad()
    def power_iteration(self, weight: torch.Tensor, n: int) -> None:
        matrix = weight.flatten(1)
        for _ in range(n):
            self.v.copy_(F.normalize(matrix.t() @ self.u, dim=0, eps=self.eps))
            self.u.copy_(F.normalize(matrix @ self.v, dim=0, eps=self.eps))

    def sigma(self, weight: torch.Tensor) -> torch.Tensor:
        return torch.dot(self.u, weight.flatten(1) @ self.v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * (self.lipschitz / self.sigma(weight))


def spectral_layers(D: nn.Module):
    """(name, layer, SpectralNormWeight) for every spectrally normalized layer of D."""
    for name, module in weight_layers(D):
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations.weight:
                if isinstance(p, SpectralNormWeight):
                    yield name, module, p


@register("spectral")
class SpectralNormalization(Normalizer):
    def apply(self, D: nn.Module) -> None:
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(
                module, "weight", SpectralNormWeight(module.weight, self.params.lipschitz))

    def before_d_step(self, D: nn.Module) -> None:
        for _, module, sn in spectral_layers(D):
            sn.power_iteration(raw_weight(module), self.params.n_power_iterations)

    def sigma_estimates(self, D: nn.Module):
        with torch.no_grad():
            return {name: sn.sigma(raw_weight(module)) for name, module, sn in spectral_layers(D)}
