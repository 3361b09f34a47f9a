"""What every architecture has, and the registry of architectures (``arch=NAME``).

An architecture is one module of this package with its networks and a class registered with
``@register("name", ItsConfig)``: ``ItsConfig``, a dataclass beside it extending ArchConfig, holds
the keys only that architecture reads (``arch.<key>``). config/schema.py registers each as the
schema ``arch/schema/<name>`` that the option ``conf/arch/<name>.yaml`` extends, so a key of another
architecture (``arch=cnn arch.d_pool=mean``) is refused when the config is composed.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from sngan_cli import SnganError
from sngan_cli.config import positive
from sngan_cli.data.transforms import DataScaling
from sngan_cli.models.latent import ZDistribution

NormLayer = Callable[[int], nn.Module]


def no_norm(channels: int) -> nn.Module:
    """D without a feature normalization after its convs."""
    return nn.Identity()


@dataclasses.dataclass
class ArchConfig:
    """The keys of every architecture. Their defaults, and those of each architecture's own keys, are
    what sngan did before the key existed (a checkpoint that predates one gets it: trained.py); the
    values an architecture runs with are its option's, ``conf/arch/<name>.yaml``."""

    name: str = MISSING
    z_dim: int = positive(128)
    width: float = positive(1.0)  # channel multiplier for G and D (1.0 = the paper)
    g_width: float = positive(1.0)  # extra multiplier for G only (ResNet orthonormal and Table 7: 0.5, the original G)
    d_width: float = positive(1.0)  # extra multiplier for D only (Table 7 widens D 1.5x)
    d_last_channels: Optional[int] = positive(None)  # channels of D's last conv layer (Figure 4); null = paper
    conditional: bool = False  # conditional BN in G + projection D (needs a labelled dataset)
    # How the authors' code builds and feeds the networks where the paper's text says otherwise or
    # nothing (docs/fidelity.md); `fidelity=text` switches every point the text states to the text.
    z_distribution: ZDistribution = ZDistribution.normal  # uniform: chainer-gan-lib (arch=cnn)
    g_batch_size: int = positive(128)  # latent vectors per G update (arch=cnn: 64, as chainer-gan-lib)
    data_scaling: DataScaling = DataScaling.dequantize  # exact: x/127.5 - 1 (arch=cnn) | x/128 - 1 + U[0, 1/128)


class Architecture:
    """G and D of one architecture, from the numbers every architecture has and the keyword options
    of its own networks, which its config's own keys give (generator_options, discriminator_options)."""

    name = ""
    config: type = ArchConfig  # its keys (set by @register)
    conditional = False  # whether it has a conditional G and a projection D (arch.conditional=true)

    @staticmethod
    def check(resolution: int) -> None:
        """Raises ValueError for a resolution it does not build."""

    @staticmethod
    def generator(resolution: int, z_dim: int, width: float, num_classes: int, **options: Any) -> nn.Module:
        raise NotImplementedError

    @staticmethod
    def discriminator(resolution: int, width: float, last_channels: Optional[int], num_classes: int,
                      norm_layer: NormLayer, **options: Any) -> nn.Module:
        raise NotImplementedError

    @staticmethod
    def generator_options(cfg: Any) -> Dict[str, Any]:
        """The keyword options of its G that ``cfg`` (an instance of ``config``) gives."""
        return {}

    @staticmethod
    def discriminator_options(cfg: Any) -> Dict[str, Any]:
        """The keyword options of its D that ``cfg`` (an instance of ``config``) gives."""
        return {}


_REGISTRY: Dict[str, type] = {}


def register(name: str, config: type = ArchConfig) -> Callable[[type], type]:
    """``@register("name", ItsConfig)``: the architecture ``arch.name=name``, with the keys of
    ``ItsConfig`` (a dataclass extending ArchConfig)."""
    def wrap(cls: type) -> type:
        cls.name, cls.config = name, config
        _REGISTRY[name] = cls
        return cls
    return wrap


def architectures() -> Dict[str, type]:
    """Every architecture by name (models/__init__.py imports the modules that register them)."""
    return dict(sorted(_REGISTRY.items()))


def architecture(name: Any) -> type:
    if name not in _REGISTRY:
        raise SnganError(f"arch={name} is unknown: choose one of {', '.join(architectures())}")
    return _REGISTRY[name]


def arch_config(values: Mapping[str, Any]) -> Any:
    """The config of architecture ``values["name"]`` (an instance of its dataclass) with the keys of
    ``values``: the composed ``arch`` node or a mapping (a checkpoint's: trained.py keeps the keys
    its schema has). Each key is checked against that architecture's config (name, type, closed
    choices)."""
    values = dict(values.items())
    cls = architecture(values.get("name"))
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls.config), values))
    except OmegaConfBaseException as e:
        raise SnganError(f"arch={cls.name}: {str(e).splitlines()[0]}") from None
