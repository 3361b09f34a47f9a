"""Frobenius normalization with a learnable scalar scale: W = gamma * W / ||W||_F, with the
gradient penalty (Table 7, "w/ Frobenius Norm."; the paper's run collapsed early)."""
from sngan_cli.norms import register
from sngan_cli.norms.frobenius import FrobeniusNormalization
from sngan_cli.norms.scaled import ScaledConfig, ScaledWithPenalty


@register("frobenius_gamma", ScaledConfig)
class FrobeniusNormalizationWithScale(ScaledWithPenalty, FrobeniusNormalization):
    @staticmethod
    def divisor(weight):
        return weight.norm()  # ||W||_F
