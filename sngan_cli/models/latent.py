"""G's input: z ~ N(0, I) (the paper's text, Sec. 4; sngan_projection) or U[-1, 1] (chainer-gan-lib),
by ``arch.z_distribution`` (docs/fidelity.md), and for a conditional G the class labels.

``draw_latent`` is the one draw of G's inputs: the training updates, the run's sample grids, the
evaluations during training, ``sngan sample`` / ``eval`` and ``export``'s example inputs all call it.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Optional, Tuple, Union

import torch

RANDOM, CYCLE = "random", "cycle"  # the labels: uniform over the classes, or 0, 1, ..., cycling


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


def draw_latent(n: int, z_dim: int, distribution: str, num_classes: int = 0, labels: Union[str, int] = RANDOM,
                device: Optional[torch.device] = None,
                generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """G's inputs for n samples: z (``draw_z``), then, for a conditional G (``num_classes`` > 0), the
    labels: uniform (``RANDOM``), 0, 1, ... cycling over the classes (``CYCLE``: the sample grids)
    or all one class (an int). Both are drawn from ``generator`` on its device (a seeded CPU
    generator makes them independent of the device), or from ``device``'s default generator, and
    moved to ``device``. None for the labels of an unconditional G."""
    z = draw_z(n, z_dim, distribution, device, generator)
    if not num_classes:
        return z, None
    if labels == RANDOM:
        where = generator.device if generator is not None else device
        y = torch.randint(num_classes, (n,), generator=generator, device=where)
    elif labels == CYCLE:
        y = torch.arange(n) % num_classes
    else:
        y = torch.full((n,), int(labels), dtype=torch.long)
    return z, (y if device is None else y.to(device))
