"""Generators and discriminators of the paper (Tables 3-6), built from numbers, by architecture name."""
from __future__ import annotations

from typing import Callable, Optional, Tuple

from torch import nn

from sngan_cli import SnganError
from sngan_cli.models.cnn import CNNDiscriminator, CNNGenerator, check_resolution
from sngan_cli.models.resnet import ResNetDiscriminator, ResNetGenerator, variant

ARCHITECTURES = ("cnn", "resnet")


def check_arch(arch: str, resolution: int, conditional: bool = False) -> None:
    """Refuse an architecture/resolution pair before any work starts."""
    if arch not in ARCHITECTURES:
        raise SnganError(f"arch={arch} is unknown: choose one of {', '.join(ARCHITECTURES)}")
    if conditional and arch != "resnet":
        raise SnganError("arch.conditional=true needs arch=resnet (conditional BN + projection D)")
    try:
        (check_resolution if arch == "cnn" else variant)(resolution)
    except ValueError as e:
        raise SnganError(f"dataset.resolution={resolution} does not fit arch={arch}: {e}") from None


def build_generator(arch: str, resolution: int, z_dim: int = 128, width: float = 1.0,
                    num_classes: int = 0) -> nn.Module:
    try:
        if arch == "cnn":
            if num_classes:
                raise SnganError("arch.conditional=true needs arch=resnet (conditional BN + projection D)")
            return CNNGenerator(resolution, z_dim, width)
        if arch == "resnet":
            return ResNetGenerator(resolution, z_dim, width, num_classes)
    except ValueError as e:
        raise SnganError(f"arch={arch} dataset.resolution={resolution}: {e}") from None
    raise SnganError(f"arch={arch} is unknown: choose one of {', '.join(ARCHITECTURES)}")


def build_discriminator(arch: str, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                        num_classes: int = 0,
                        norm_layer: Callable[[int], nn.Module] = lambda c: nn.Identity()) -> nn.Module:
    try:
        if arch == "cnn":
            return CNNDiscriminator(resolution, width, last_channels, norm_layer)
        if arch == "resnet":
            return ResNetDiscriminator(resolution, width, last_channels, num_classes, norm_layer)
    except ValueError as e:
        raise SnganError(f"arch={arch} dataset.resolution={resolution}: {e}") from None
    raise SnganError(f"arch={arch} is unknown: choose one of {', '.join(ARCHITECTURES)}")


def build_pair(arch_cfg, resolution: int, num_classes: int, norm_layer) -> Tuple[nn.Module, nn.Module]:
    """G and D from the `arch` config group (width multipliers applied)."""
    classes = num_classes if arch_cfg.conditional else 0
    G = build_generator(arch_cfg.name, resolution, arch_cfg.z_dim, arch_cfg.width * arch_cfg.g_width, classes)
    D = build_discriminator(arch_cfg.name, resolution, arch_cfg.width * arch_cfg.d_width,
                            arch_cfg.d_last_channels, classes, norm_layer)
    return G, D
