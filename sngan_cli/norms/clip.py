"""Weight clipping (Arjovsky et al. 2017): D's parameters clamped to [-c, c] after each update.

``norm.clip_params``: ``all`` (every parameter, biases included, as the WGAN authors' code and
Gulrajani et al.'s clip every variable of D; the default) or ``weights`` (the weight of each layer
only, the paper's "the convolutional weight of each layer", Sec. 4; ``fidelity=text``)."""
from dataclasses import dataclass
from enum import StrEnum

import torch

from sngan_cli.config import positive
from sngan_cli.norms import NormConfig, Normalizer, raw_weight, register, weight_layers


class ClipParams(StrEnum):
    """``norm.clip_params``: what is clipped."""

    all = "all"  # every parameter of D (the WGAN authors' and Gulrajani et al.'s code)
    weights = "weights"  # each layer's weight only (Sec. 4's text)


@dataclass
class ClipConfig(NormConfig):
    clip: float = positive(0.01)  # c: D's parameters are clamped to [-c, c]
    clip_params: ClipParams = ClipParams.all


@register("clip", ClipConfig)
class WeightClipping(Normalizer):
    @torch.no_grad()
    def after_d_step(self, D):
        if self.params.clip_params == ClipParams.weights:
            params = [raw_weight(module) for _, module in weight_layers(D)]
        else:
            params = list(D.parameters())
        # all at once: two operations, not two per parameter
        torch._foreach_clamp_min_(params, -self.params.clip)
        torch._foreach_clamp_max_(params, self.params.clip)
