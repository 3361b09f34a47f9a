"""G's input: z ~ N(0, I) (the paper's text, Sec. 4; sngan_projection) or U[-1, 1] (chainer-gan-lib),
by ``arch.z_distribution`` (docs/fidelity.md)."""
from __future__ import annotations

from enum import StrEnum
from typing import Optional

import torch


class ZDistribution(StrEnum):
    """``arch.z_distribution``."""

    normal = "normal"  # N(0, I): the paper's text, sngan_projection
    uniform = "uniform"  # U[-1, 1]: chainer-gan-lib


def draw_z(n: int, z_dim: int, distribution: str, device: Optional[torch.device] = None,
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """n latent vectors, drawn from ``generator`` (on its device, then moved to ``device``) or from
    ``device``'s default generator."""
    where = generator.device if generator is not None else device
    if distribution == "uniform":
        z = torch.rand(n, z_dim, generator=generator, device=where).mul_(2).sub_(1)
    elif distribution == "normal":
        z = torch.randn(n, z_dim, generator=generator, device=where)
    else:
        raise ValueError(f"arch.z_distribution={distribution}: choose one of {', '.join(ZDistribution)}")
    return z if device is None else z.to(device)
