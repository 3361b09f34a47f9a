"""Layer normalization after each conv of D (over channels and space, per sample), without the
learnable scale gamma (Sec. 4)."""
from torch import nn

from sngan_cli.norms import Normalizer, ShiftedNorm, register


@register("layer")
class LayerNormalization(Normalizer):
    def feature_norm(self, channels: int) -> nn.Module:
        return ShiftedNorm(nn.GroupNorm(1, channels, affine=False), channels)
