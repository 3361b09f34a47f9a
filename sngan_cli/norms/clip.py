"""Weight clipping (Arjovsky et al. 2017): every parameter of D clamped to [-c, c] after each update."""
import torch

from sngan_cli.norms import Normalizer, register


@register("clip")
class WeightClipping(Normalizer):
    @torch.no_grad()
    def after_d_step(self, D):
        c = self.params.clip
        for p in D.parameters():
            p.clamp_(-c, c)
