"""Spectral normalization with a learnable scalar scale (Appendix E, Eq. 32): W = gamma * W_SN,
with the gradient penalty (Table 7, "w/ Spectral Norm.")."""
from dataclasses import dataclass

import torch

from sngan_cli.norms import register
from sngan_cli.norms.scaled import ScaledConfig, ScaledWithPenalty
from sngan_cli.norms.spectral import SpectralConfig, SpectralNormalization


@dataclass
class SpectralGammaConfig(ScaledConfig, SpectralConfig):
    """Spectral normalization's options, and the scale's."""


@register("spectral_gamma", SpectralGammaConfig)
class SpectralNormalizationWithScale(ScaledWithPenalty, SpectralNormalization):
    @staticmethod
    def divisor(weight):
        return torch.linalg.matrix_norm(weight.flatten(1), ord=2)  # sigma(W), exactly (an SVD)
