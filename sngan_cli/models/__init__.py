"""Generators and discriminators of the paper (Tables 3-6), built from numbers, by architecture name."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Tuple

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
                    num_classes: int = 0, dense_bn: str = "units", residual_gain: float = math.sqrt(2)) -> nn.Module:
    try:
        if arch == "cnn":
            if num_classes:
                raise SnganError("arch.conditional=true needs arch=resnet (conditional BN + projection D)")
            return CNNGenerator(resolution, z_dim, width, dense_bn)
        if arch == "resnet":
            return ResNetGenerator(resolution, z_dim, width, num_classes, residual_gain)
    except ValueError as e:
        raise SnganError(f"arch={arch} dataset.resolution={resolution}: {e}") from None
    raise SnganError(f"arch={arch} is unknown: choose one of {', '.join(ARCHITECTURES)}")


def build_discriminator(arch: str, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                        num_classes: int = 0,
                        norm_layer: Callable[[int], nn.Module] = lambda c: nn.Identity(),
                        channels: str = "downsample", slope: float = 0.2, first_norm: bool = False,
                        hidden: str = "input", residual_gain: float = math.sqrt(2), pool: str = "sum",
                        fc_bias: bool = False) -> nn.Module:
    try:
        if arch == "cnn":
            return CNNDiscriminator(resolution, width, last_channels, norm_layer, channels, slope, first_norm)
        if arch == "resnet":
            return ResNetDiscriminator(resolution, width, last_channels, num_classes, norm_layer, hidden,
                                       residual_gain, pool, fc_bias)
    except ValueError as e:
        raise SnganError(f"arch={arch} dataset.resolution={resolution}: {e}") from None
    raise SnganError(f"arch={arch} is unknown: choose one of {', '.join(ARCHITECTURES)}")


def generator_from(arch: Mapping[str, Any], resolution: int, num_classes: int) -> nn.Module:
    """G as the ``arch`` config group describes it (a DictConfig or the resolved dict of a checkpoint)."""
    classes = num_classes if arch["conditional"] else 0
    return build_generator(arch["name"], resolution, arch["z_dim"], arch["width"] * arch["g_width"], classes,
                           arch["g_dense_bn"], arch["residual_gain"])


def discriminator_from(arch: Mapping[str, Any], resolution: int, num_classes: int,
                       norm_layer: Callable[[int], nn.Module]) -> nn.Module:
    """D as the ``arch`` config group describes it, with ``norm_layer`` after its convs."""
    classes = num_classes if arch["conditional"] else 0
    return build_discriminator(arch["name"], resolution, arch["width"] * arch["d_width"], arch["d_last_channels"],
                               classes, norm_layer, arch["d_channels"], arch["d_slope"], arch["d_first_norm"],
                               arch["d_hidden"], arch["residual_gain"], arch["d_pool"], arch["d_fc_bias"])


def build_pair(arch_cfg, resolution: int, num_classes: int, norm_layer) -> Tuple[nn.Module, nn.Module]:
    """G and D from the `arch` config group (width multipliers applied)."""
    return generator_from(arch_cfg, resolution, num_classes), discriminator_from(arch_cfg, resolution,
                                                                                  num_classes, norm_layer)
