"""Spectral normalization with a learnable scalar scale (Appendix E, Eq. 32): W = gamma * W_SN,
with the gradient penalty (Table 7, "w/ Spectral Norm.")."""
from sngan_cli.norms import register
from sngan_cli.norms.scaled import ScaledWithPenalty
from sngan_cli.norms.spectral import SpectralNormalization


@register("spectral_gamma")
class SpectralNormalizationWithScale(ScaledWithPenalty, SpectralNormalization):
    pass
