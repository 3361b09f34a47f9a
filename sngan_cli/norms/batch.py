"""Batch normalization after each conv of D, without the learnable scale gamma (Sec. 4)."""
from torch import nn

from sngan_cli.norms import Normalizer, ShiftedNorm, register


@register("batch")
class BatchNormalization(Normalizer):
    def feature_norm(self, channels: int) -> nn.Module:
        return ShiftedNorm(nn.BatchNorm2d(channels, affine=False), channels)
