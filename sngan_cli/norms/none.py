"""No normalization of D: the unconstrained baseline."""
from sngan_cli.norms import Normalizer, register


@register("none")
class NoNormalization(Normalizer):
    pass
