"""Weight normalization in its original form (Salimans & Kingma 2016): W = diag(gamma) W_WN, one
learned gamma per output row, with the gradient penalty (Table 7, "w/ Weight Norm.")."""
from sngan_cli.norms import register
from sngan_cli.norms.scaled import ScaledConfig, ScaledWithPenalty
from sngan_cli.norms.weight import WeightNormalization


@register("weight_gamma", ScaledConfig)
class WeightNormalizationWithScale(ScaledWithPenalty, WeightNormalization):
    @staticmethod
    def divisor(weight):
        return weight.flatten(1).norm(dim=1)  # ||w_i|| of each row
