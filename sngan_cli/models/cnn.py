"""The standard CNN of Table 3 (Appendix B.4).

G: z -> dense -> M_g x M_g x 512 -> [deconv 4x4 s2, BN, ReLU] x 3 (256, 128, 64) -> conv 3x3 -> 3, tanh
   with M_g = resolution / 8 (4 for 32 px, 6 for 48 px). As in the reference code the dense layer is
   followed by BN and ReLU.
D: conv3x3 64, conv4x4 s2 64, conv3x3 128, conv4x4 s2 128, conv3x3 256, conv4x4 s2 256,
   conv3x3 512, dense -> 1, leaky ReLU (slope 0.1) after every conv. A normalizer may insert a
   feature normalization after each conv.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from sngan_cli.models.layers import scaled

NormLayer = Callable[[int], nn.Module]


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
    def __init__(self, resolution: int, z_dim: int = 128, width: float = 1.0) -> None:
        super().__init__()
        self.bottom = check_resolution(resolution)
        self.z_dim = z_dim
        c = [scaled(n, width) for n in (512, 256, 128, 64)]
        self.fc = nn.Linear(z_dim, self.bottom * self.bottom * c[0])
        self.bn0 = nn.BatchNorm2d(c[0])
        self.ups = nn.Sequential(*[
            nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU())
            for cin, cout in zip(c[:-1], c[1:])
        ])
        self.out = nn.Conv2d(c[-1], 3, 3, 1, 1)
        _init_normal(self)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], -1, self.bottom, self.bottom)
        h = self.ups(torch.relu(self.bn0(h)))
        return torch.tanh(self.out(h))


class CNNDiscriminator(nn.Module):
    def __init__(self, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                 norm_layer: NormLayer = lambda c: nn.Identity()) -> None:
        super().__init__()
        bottom = check_resolution(resolution)
        c64, c128, c256 = (scaled(n, width) for n in (64, 128, 256))
        last = last_channels or scaled(512, width)
        spec = [(3, c64, 3, 1), (c64, c64, 4, 2), (c64, c128, 3, 1), (c128, c128, 4, 2),
                (c128, c256, 3, 1), (c256, c256, 4, 2), (c256, last, 3, 1)]
        self.convs = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(cin, cout, k, s, 1), norm_layer(cout), nn.LeakyReLU(0.1))
            for cin, cout, k, s in spec
        ])
        self.fc = nn.Linear(last * bottom * bottom, 1)
        _init_normal(self)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.fc(self.convs(x).flatten(1)).squeeze(1)
