"""The standard CNN of Table 3 (Appendix B.4), as the authors' chainer-gan-lib builds it by default
(docs/fidelity.md; ``fidelity=text`` gives Table 3's text).

G: z -> dense -> M_g x M_g x 512 -> BN, ReLU -> [deconv 4x4 s2, BN, ReLU] x 3 (256, 128, 64)
   -> conv 3x3 -> 3, tanh, with M_g = resolution / 8 (4 for 32 px, 6 for 48 px). The first BN
   normalizes each of the M_g * M_g * 512 dense units (``g_dense_bn=units``, the code) or each of
   the 512 channels (``channels``).
D: seven convs (3x3 s1, 4x4 s2, 3x3, 4x4 s2, 3x3, 4x4 s2, 3x3), dense -> 1, leaky ReLU
   (``d_slope``: 0.2 in the code, 0.1 in Table 3) after every conv. Channels 64, 128, 128, 256, 256,
   512, 512: doubled at each stride-2 conv (``d_channels=downsample``, the code), or Table 3's
   64, 64, 128, 128, 256, 256, 512 (``table3``). A normalizer may insert a feature normalization
   after each conv but the first (``d_first_norm=true``: after the first too).
All weights ~ N(0, 0.02), biases 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Dict, Optional

import torch
from torch import nn

from sngan_cli.config import fraction
from sngan_cli.models.architecture import ArchConfig, Architecture, NormLayer, no_norm, register
from sngan_cli.models.layers import scaled


# (kernel, stride) of D's seven convs, and their channels under each plan of the `d_channels` key
D_KERNELS = [(3, 1), (4, 2), (3, 1), (4, 2), (3, 1), (4, 2), (3, 1)]
D_CHANNELS = {"downsample": (64, 128, 128, 256, 256, 512, 512), "table3": (64, 64, 128, 128, 256, 256, 512)}
DChannels = StrEnum("DChannels", [(plan, plan) for plan in D_CHANNELS])  # ``arch.d_channels``


class GDenseBN(StrEnum):
    """``arch.g_dense_bn``: what G's first BN normalizes."""

    units = "units"  # each of the M_g * M_g * 512 dense units (the authors' code)
    channels = "channels"  # each of the 512 channels (Table 3)


def check_resolution(resolution: int) -> int:
    if resolution < 8 or resolution % 8:
        raise ValueError(f"the standard CNN needs a resolution divisible by 8, got {resolution}")
    return resolution // 8


def _init_normal(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)


class CNNGenerator(nn.Module):
    def __init__(self, resolution: int, z_dim: int = 128, width: float = 1.0, dense_bn: str = "units") -> None:
        super().__init__()
        self.bottom = check_resolution(resolution)
        self.z_dim = z_dim
        c = [scaled(n, width) for n in (512, 256, 128, 64)]
        units = self.bottom * self.bottom * c[0]
        self.fc = nn.Linear(z_dim, units)
        self.bn0 = nn.BatchNorm1d(units) if dense_bn == "units" else nn.BatchNorm2d(c[0])
        self.ups = nn.Sequential(*[
            nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU())
            for cin, cout in zip(c[:-1], c[1:])
        ])
        self.out = nn.Conv2d(c[-1], 3, 3, 1, 1)
        _init_normal(self)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.fc(z)
        if isinstance(self.bn0, nn.BatchNorm1d):
            h = self.bn0(h).view(z.shape[0], -1, self.bottom, self.bottom)
        else:
            h = self.bn0(h.view(z.shape[0], -1, self.bottom, self.bottom))
        return torch.tanh(self.out(self.ups(torch.relu(h))))


class CNNDiscriminator(nn.Module):
    def __init__(self, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                 norm_layer: NormLayer = no_norm, channels: str = "downsample",
                 slope: float = 0.2, first_norm: bool = False) -> None:
        super().__init__()
        bottom = check_resolution(resolution)
        widths = [scaled(n, width) for n in D_CHANNELS[channels]]
        if last_channels:
            widths[-1] = last_channels
        layers, cin = [], 3
        for i, ((k, s), cout) in enumerate(zip(D_KERNELS, widths)):
            norm = norm_layer(cout) if (i > 0 or first_norm) else nn.Identity()
            layers.append(nn.Sequential(nn.Conv2d(cin, cout, k, s, 1), norm, nn.LeakyReLU(slope)))
            cin = cout
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(cin * bottom * bottom, 1)
        _init_normal(self)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.fc(self.convs(x).flatten(1)).squeeze(1)


@dataclass
class CNNConfig(ArchConfig):
    """``arch=cnn``: the keys of every architecture and the standard CNN's own."""

    d_channels: DChannels = DChannels.downsample  # D doubles its channels at the 4x4 stride-2 convs | table3
    d_slope: float = fraction(0.2)  # leaky ReLU slope in D (Table 3's text: 0.1)
    g_dense_bn: GDenseBN = GDenseBN.units  # G's first BN over all dense units | per channel
    d_first_norm: bool = False  # norm=batch/layer: also normalize after D's first conv


@register("cnn", CNNConfig)
class CNN(Architecture):
    """Table 3's networks: unconditional (its D reads no labels)."""

    @staticmethod
    def check(resolution: int) -> None:
        check_resolution(resolution)

    @staticmethod
    def generator(resolution: int, z_dim: int = 128, width: float = 1.0, num_classes: int = 0,
                  **options: Any) -> nn.Module:
        if num_classes:
            raise ValueError("the standard CNN has no conditional G: arch.conditional=true needs a conditional "
                             "architecture")
        return CNNGenerator(resolution, z_dim, width, **options)

    @staticmethod
    def discriminator(resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                      num_classes: int = 0, norm_layer: NormLayer = no_norm,
                      **options: Any) -> nn.Module:
        return CNNDiscriminator(resolution, width, last_channels, norm_layer, **options)

    @staticmethod
    def generator_options(cfg: CNNConfig) -> Dict[str, Any]:
        return {"dense_bn": cfg.g_dense_bn}

    @staticmethod
    def discriminator_options(cfg: CNNConfig) -> Dict[str, Any]:
        return {"channels": cfg.d_channels, "slope": cfg.d_slope, "first_norm": cfg.d_first_norm}
