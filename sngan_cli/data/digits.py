"""scikit-learn's bundled handwritten digits (1,797 images, 8x8, 10 classes): the embedded offline
dataset. Pixel values 0..16 are mapped to 0..255, upscaled bilinearly to the resolution and
repeated to three channels, so the paper's networks run on it unchanged."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from sngan_cli.data import DatasetConfig, ImageSet, register


def render_digits(images, resolution: int) -> torch.Tensor:
    """uint8 RGB (N, 3, R, R) from digit images (N, 8, 8) with values 0..16."""
    x = torch.as_tensor(images).float().unsqueeze(1) * (255.0 / 16.0)
    x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)


def digits_images(resolution: int) -> tuple:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return render_digits(bunch.images, resolution), torch.from_numpy(bunch.target).long()


# 32 px by default, so it runs the paper's CIFAR-10 networks; nothing to download
@register("digits", DatasetConfig(root="data", resolution=32, download=False))
def load(root: str, resolution: int, download: bool, **_) -> ImageSet:
    images, labels = digits_images(resolution)
    return ImageSet("digits", resolution, 10, images, labels)
