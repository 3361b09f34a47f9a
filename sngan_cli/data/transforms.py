"""Image conversions shared by the dataset loaders."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_uint8(images: torch.Tensor, resolution: int, batch: int = 1024) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) images to resolution x resolution (antialiased bilinear)."""
    if images.shape[-1] == resolution and images.shape[-2] == resolution:
        return images
    out = []
    for chunk in images.split(batch):
        x = F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear",
                          align_corners=False, antialias=True)
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the paper scales images to [-1, 1])."""
    return images.float().div_(127.5).sub_(1.0)
