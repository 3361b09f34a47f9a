"""Generators and discriminators of the paper (Tables 3-6), by architecture.

An architecture is a module of this package registered with ``@register("name", ItsConfig)``
(models/architecture.py): cnn.py (Table 3), resnet.py (Tables 4-6). A run builds G and D from its
``arch`` config (generator_from, discriminator_from); tests and benchmarks may build them from
numbers and the keyword options of an architecture's networks (build_generator, build_discriminator).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Tuple

from torch import nn

from sngan_cli import SnganError
from sngan_cli.models import cnn, resnet  # noqa: F401  (each registers its architecture)
from sngan_cli.models.architecture import (ArchConfig, NormLayer, arch_config, architecture, architectures,
                                           no_norm)

__all__ = ["ARCHITECTURES", "ArchConfig", "arch_config", "architecture", "architectures", "build_discriminator",
           "build_generator", "build_pair", "check_arch", "discriminator_from", "generator_from"]

ARCHITECTURES = tuple(architectures())


def check_arch(arch: str, resolution: int, conditional: bool = False) -> None:
    """Refuse an architecture/resolution pair before any work starts."""
    cls = architecture(arch)
    if conditional and not cls.conditional:
        which = " or ".join(f"arch={name}" for name, a in architectures().items() if a.conditional)
        raise SnganError(f"arch.conditional=true needs {which} (conditional BN + projection D)")
    try:
        cls.check(resolution)
    except ValueError as e:
        raise SnganError(f"dataset.resolution={resolution} does not fit arch={arch}: {e}") from None


def _built(arch: str, resolution: int, build: Callable[[type], nn.Module]) -> nn.Module:
    cls = architecture(arch)
    try:
        return build(cls)
    except ValueError as e:
        raise SnganError(f"arch={arch} dataset.resolution={resolution}: {e}") from None


def build_generator(arch: str, resolution: int, z_dim: int = 128, width: float = 1.0, num_classes: int = 0,
                    **options: Any) -> nn.Module:
    """G of architecture ``arch``; ``options``: keyword options of its network (the CNN's ``dense_bn``)."""
    return _built(arch, resolution, lambda cls: cls.generator(resolution, z_dim, width, num_classes, **options))


def build_discriminator(arch: str, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                        num_classes: int = 0, norm_layer: NormLayer = no_norm, **options: Any) -> nn.Module:
    """D of architecture ``arch`` with ``norm_layer`` after its convs; ``options``: keyword options of
    its network (the CNN's ``channels``, ``slope``, ``first_norm``)."""
    return _built(arch, resolution, lambda cls: cls.discriminator(resolution, width, last_channels, num_classes,
                                                                  norm_layer, **options))


def generator_from(arch: Mapping[str, Any], resolution: int, num_classes: int) -> nn.Module:
    """G as the ``arch`` config group describes it (the composed node, or a checkpoint's keys: trained.py)."""
    cfg = arch_config(arch)
    return build_generator(cfg.name, resolution, cfg.z_dim, cfg.width * cfg.g_width,
                           num_classes if cfg.conditional else 0, **architecture(cfg.name).generator_options(cfg))


def discriminator_from(arch: Mapping[str, Any], resolution: int, num_classes: int,
                       norm_layer: NormLayer) -> nn.Module:
    """D as the ``arch`` config group describes it, with ``norm_layer`` after its convs."""
    cfg = arch_config(arch)
    return build_discriminator(cfg.name, resolution, cfg.width * cfg.d_width, cfg.d_last_channels,
                               num_classes if cfg.conditional else 0, norm_layer,
                               **architecture(cfg.name).discriminator_options(cfg))


def build_pair(arch_cfg: Mapping[str, Any], resolution: int, num_classes: int,
               norm_layer: NormLayer) -> Tuple[nn.Module, nn.Module]:
    """G and D from the ``arch`` config group (width multipliers applied)."""
    return generator_from(arch_cfg, resolution, num_classes), discriminator_from(arch_cfg, resolution,
                                                                                  num_classes, norm_layer)
