"""Image conversions shared by the dataset loaders."""
from __future__ import annotations

from enum import StrEnum

import torch
import torch.nn.functional as F


def resize_uint8(images: torch.Tensor, resolution: int, batch: int = 1024, antialias: bool = True) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) images to resolution x resolution (bilinear, antialiased by default)."""
    if images.shape[-1] == resolution and images.shape[-2] == resolution:
        return images
    out = []
    for chunk in images.split(batch):
        x = F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear",
                          align_corners=False, antialias=antialias)
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


class DataScaling(StrEnum):
    """``arch.data_scaling``: how uint8 images become floats in [-1, 1] (to_unit_range)."""

    exact = "exact"
    dequantize = "dequantize"


def to_unit_range(images: torch.Tensor, scaling: str = "exact") -> torch.Tensor:
    """uint8 [0, 255] -> float in [-1, 1] (the paper scales images to [-1, 1]; docs/fidelity.md):
    ``exact``: x / 127.5 - 1 (chainer-gan-lib); ``dequantize``: x / 128 - 1 + U[0, 1/128), each value
    spread uniformly over its quantization bin (sngan_projection, Gulrajani et al.)."""
    if scaling == "exact":
        return images.float().div_(127.5).sub_(1.0)
    if scaling == "dequantize":
        x = images.float().div_(128.0).sub_(1.0)
        return x.add_(torch.rand_like(x).div_(128.0))
    raise ValueError(f"arch.data_scaling={scaling}: choose one of {', '.join(DataScaling)}")
