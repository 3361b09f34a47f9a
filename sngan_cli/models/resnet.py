"""The ResNets of Tables 4-6 (Gulrajani et al. 2017 blocks; Appendix B.4).

The variant follows the resolution:
- 32 px (CIFAR-10; also 16/64): G dense 4x4x256, ResBlock up 256 x log2(res/4), BN, ReLU, conv3x3, tanh;
  D ResBlock down 128 x 2, ResBlock 128 x 2.
- 48 px (STL-10): G dense 6x6x512, ResBlock up 256, 128, 64; D ResBlock down 64, 128, 256, 512,
  ResBlock 1024.
- 128 px (ImageNet): G dense 4x4x1024, ResBlock up 1024, 512, 256, 128, 64; D ResBlock down 64, 128,
  256, 512, 1024, ResBlock 1024.
D blocks have no BN (a normalizer may add a feature normalization after each conv); D ends with
ReLU, global sum pooling and dense -> 1. Conditional models use conditional BN in G and a projection
discriminator (Miyato & Koyama 2018): f(x, y) = psi(phi(x)) + embed(y)^T phi(x).

Details the tables leave out follow the authors' sngan_projection (docs/fidelity.md): a D block's
hidden width is its input's (``d_hidden``; the first block's is its output's), the residual convs
start Glorot-uniform with gain sqrt(2) (``residual_gain``), the shortcuts, dense and embedding
layers with gain 1, D's last dense layer has no bias (``d_fc_bias``) and pools by sum
(``d_pool``; Gulrajani et al.'s ResNet, Table 7's, takes the mean and has the bias).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from sngan_cli.config import positive
from sngan_cli.models.architecture import ArchConfig, Architecture, NormLayer, no_norm, register
from sngan_cli.models.layers import GeneratorBatchNorm, scaled



class DHidden(StrEnum):
    """``arch.d_hidden``: the width inside a D block (the first block's is its output's)."""

    input = "input"  # its input's channels (sngan_projection)
    output = "output"  # its output's


class DPool(StrEnum):
    """``arch.d_pool``: D's global pooling before its last dense layer."""

    sum = "sum"  # sngan_projection
    mean = "mean"  # Gulrajani et al.'s ResNet (Table 7)


def variant(resolution: int) -> Tuple[int, List[int], List[int], int]:
    """(G bottom size, G channels [dense, up...], D down-block channels, D plain-block count)."""
    if resolution == 48:
        return 6, [512, 256, 128, 64], [64, 128, 256, 512], 1
    if resolution == 128:
        return 4, [1024, 1024, 512, 256, 128, 64], [64, 128, 256, 512, 1024], 1
    ups = math.log2(resolution / 4) if resolution >= 8 else -1
    if ups == int(ups) and 1 <= ups <= 4:
        return 4, [256] * (int(ups) + 1), [128, 128], 2
    raise ValueError(f"the ResNet supports resolutions 8, 16, 32, 64, 48 and 128, got {resolution}")


def _init_glorot(module: nn.Module, residual_gain: float) -> None:
    """Glorot uniform everywhere, with ``residual_gain`` on the blocks' residual convs; biases 0."""
    residual = {id(m) for block in module.modules() if isinstance(block, (GeneratorBlock, DiscriminatorBlock))
                for m in (block.conv1, block.conv2)}
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight, gain=residual_gain if id(m) in residual else 1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class GeneratorBlock(nn.Module):
    def __init__(self, cin: int, cout: int, num_classes: int = 0) -> None:
        super().__init__()
        self.bn1 = GeneratorBatchNorm(cin, num_classes)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2 = GeneratorBatchNorm(cout, num_classes)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        h = F.interpolate(torch.relu(self.bn1(x, y)), scale_factor=2)
        h = self.conv2(torch.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DiscriminatorBlock(nn.Module):
    """Pre-activation block; ``first`` is the optimized input block (no leading ReLU). ``hidden``:
    the width between the two convs."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool, norm_layer: NormLayer,
                 hidden: Optional[int] = None) -> None:
        super().__init__()
        self.down, self.first = down, first
        hidden = hidden or cout
        self.conv1 = nn.Conv2d(cin, hidden, 3, 1, 1)
        self.norm1 = norm_layer(hidden)
        self.conv2 = nn.Conv2d(hidden, cout, 3, 1, 1)
        self.norm2 = norm_layer(cout)
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else torch.relu(x)
        h = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(h)))))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.shortcut is not None:
            # the optimized block pools before its 1x1 conv, the others after
            s = self.shortcut(F.avg_pool2d(x, 2)) if self.first else self.shortcut(x)
            if self.down and not self.first:
                s = F.avg_pool2d(s, 2)
        return h + s


class ResNetGenerator(nn.Module):
    def __init__(self, resolution: int, z_dim: int = 128, width: float = 1.0, num_classes: int = 0,
                 residual_gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.bottom, channels, _, _ = variant(resolution)
        self.z_dim = z_dim
        c = [scaled(n, width) for n in channels]
        self.fc = nn.Linear(z_dim, self.bottom * self.bottom * c[0])
        self.blocks = nn.ModuleList(GeneratorBlock(cin, cout, num_classes) for cin, cout in zip(c[:-1], c[1:]))
        self.bn = nn.BatchNorm2d(c[-1])
        self.out = nn.Conv2d(c[-1], 3, 3, 1, 1)
        _init_glorot(self, residual_gain)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], -1, self.bottom, self.bottom)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out(torch.relu(self.bn(h))))


class ResNetDiscriminator(nn.Module):
    def __init__(self, resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                 num_classes: int = 0, norm_layer: NormLayer = no_norm, hidden: str = "input",
                 residual_gain: float = math.sqrt(2), pool: str = "sum", fc_bias: bool = False) -> None:
        super().__init__()
        self.pool = pool
        _, _, down_channels, n_plain = variant(resolution)
        down = [scaled(n, width) for n in down_channels]
        plain = [scaled(1024, width) if n_plain == 1 else down[-1]] * n_plain
        widths = down + plain
        if last_channels:
            widths[-1] = last_channels
        blocks, cin = [], 3
        for i, cout in enumerate(widths):
            width_inside = cin if (hidden == "input" and i > 0) else cout
            blocks.append(DiscriminatorBlock(cin, cout, down=i < len(down), first=i == 0, norm_layer=norm_layer,
                                             hidden=width_inside))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, 1, bias=fc_bias)
        self.embed = nn.Embedding(num_classes, cin) if num_classes > 0 else None
        _init_glorot(self, residual_gain)
        if self.embed is not None:
            nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = torch.relu(self.blocks(x))
        h = h.sum(dim=(2, 3)) if self.pool == "sum" else h.mean(dim=(2, 3))
        out = self.fc(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


@dataclass
class ResNetConfig(ArchConfig):
    """``arch=resnet`` (and ``arch=resnet_gulrajani``, its values for Gulrajani et al.'s ResNet): the
    keys of every architecture and the ResNet's own."""

    d_hidden: DHidden = DHidden.input  # width inside a D block: its input channels | its output's
    residual_gain: float = positive(1.4142135623730951)  # Glorot-uniform gain of the residual convs (shortcuts: 1)
    d_pool: DPool = DPool.sum  # D's global pooling: sum | mean (Gulrajani et al.'s ResNet, Table 7)
    d_fc_bias: bool = False  # bias in D's last dense layer (Gulrajani et al.'s ResNet: true)


@register("resnet", ResNetConfig)
class ResNet(Architecture):
    """Tables 4-6's networks; conditional: conditional BN in G, a projection D."""

    conditional = True

    @staticmethod
    def check(resolution: int) -> None:
        variant(resolution)

    @staticmethod
    def generator(resolution: int, z_dim: int = 128, width: float = 1.0, num_classes: int = 0,
                  **options: Any) -> nn.Module:
        return ResNetGenerator(resolution, z_dim, width, num_classes, **options)

    @staticmethod
    def discriminator(resolution: int, width: float = 1.0, last_channels: Optional[int] = None,
                      num_classes: int = 0, norm_layer: NormLayer = no_norm,
                      **options: Any) -> nn.Module:
        return ResNetDiscriminator(resolution, width, last_channels, num_classes, norm_layer, **options)

    @staticmethod
    def generator_options(cfg: ResNetConfig) -> Dict[str, Any]:
        return {"residual_gain": cfg.residual_gain}

    @staticmethod
    def discriminator_options(cfg: ResNetConfig) -> Dict[str, Any]:
        return {"hidden": cfg.d_hidden, "residual_gain": cfg.residual_gain, "pool": cfg.d_pool,
                "fc_bias": cfg.d_fc_bias}
