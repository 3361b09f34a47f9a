"""Weight clipping (Arjovsky et al. 2017): every parameter of D clamped to [-c, c] after each update."""
import torch

from sngan_cli.norms import Normalizer, register


@register("clip")
class WeightClipping(Normalizer):
    @torch.no_grad()
    def after_d_step(self, D):
        params = list(D.parameters())  # every parameter at once: two operations, not two per parameter
        torch._foreach_clamp_min_(params, -self.params.clip)
        torch._foreach_clamp_max_(params, self.params.clip)
