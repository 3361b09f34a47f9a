"""Gradient penalty (Gulrajani et al. 2017): lambda * E[(||grad_x D(x_hat)||_2 - 1)^2].

x_hat = eps * x + (1 - eps) * G(z) with eps ~ U[0, 1] per sample. With ``loss=wasserstein`` this is
WGAN-GP; with ``loss=standard`` it is the paper's GAN-GP.

The gradient with respect to x_hat is taken with ``torch.func.grad`` (the same numbers as
``torch.autograd.grad(..., create_graph=True)``): D's update then differentiates through it like
through any other function, so ``train.compile`` compiles the penalty, double backward included,
where compiled graphs cannot run ``autograd.grad`` with ``create_graph``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from sngan_cli.config import non_negative
from sngan_cli.norms import NormConfig, Normalizer, register
from sngan_cli.norms.spectral import refreshed_before


@dataclass
class GradientPenaltyConfig(NormConfig):
    gp_lambda: float = non_negative(10.0)  # lambda: the penalty's weight


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     labels: Optional[torch.Tensor]) -> torch.Tensor:
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = eps * real + (1 - eps) * fake.detach()
    with refreshed_before(D):  # spectral norm's per-call power iteration, outside the transform
        grad = torch.func.grad(lambda x: D(x, labels).sum())(x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


@register("gp", GradientPenaltyConfig)
class GradientPenalty(Normalizer):
    def penalty(self, D, real, fake, labels):
        return self.params.gp_lambda * gradient_penalty(D, real, fake, labels)
