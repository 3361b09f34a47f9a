"""Normalizers of the discriminator, chosen by name (Sec. 3 and Appendix D of the paper, the rows of Table 2).

A normalizer is one small class in one file of this package, registered with
``@register("name", ItsConfig)``: ``ItsConfig``, a dataclass beside it extending NormConfig, holds
its options (``norm.<option>``), and is what ``norm=name`` composes (config/schema.py registers
every normalizer's), so a key it lacks is refused when the config is composed. It may change how D
is built (a feature-normalization layer after each conv), reparametrize D's weights (``apply``),
run work before or after each D update, and add a penalty to D's loss. Everything it does touches D
only; G always uses batch normalization.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import pkgutil
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

import torch
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from sngan_cli import SnganError

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)


@dataclasses.dataclass
class NormConfig:
    """The options of a normalizer without options of its own: its name (``norm=NAME``)."""

    name: str = MISSING


class Normalizer:
    """Does nothing; subclasses override the hooks that apply to them."""

    name = "none"
    config: type = NormConfig  # its options (set by @register)

    def __init__(self, params) -> None:
        self.params = params  # an instance of ``config``

    def feature_norm(self, channels: int) -> nn.Module:
        """Layer inserted after each conv of D (before its activation)."""
        return nn.Identity()

    def apply(self, D: nn.Module) -> None:
        """Reparametrize or initialize D's weights; runs before the optimizer is built."""

    def before_d_step(self, D: nn.Module) -> None:
        """Runs once before each D update."""

    def refresh_outside(self, D: nn.Module) -> contextlib.AbstractContextManager:
        """Around a call of D that must not change D's buffers (the penalty, compiled or inside a
        ``torch.func`` transform): runs here, eagerly, what that call would refresh (spectral norm)."""
        return contextlib.nullcontext()

    @property
    def refreshes_per_forward(self) -> bool:
        """Whether every training-mode call of D changes its normalized weights (spectral norm's
        ``power_iteration=every_forward``): then they may not be computed once and shared."""
        return False

    def penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                labels: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """A term added to D's loss, or None. With ``train.compile`` it is compiled: a gradient through
        D's input is taken with ``torch.func.grad`` (gp.py), which compiles, double backward included."""
        return None

    @property
    def has_penalty(self) -> bool:
        return type(self).penalty is not Normalizer.penalty

    def after_d_step(self, D: nn.Module) -> None:
        """Runs once after each D update."""

    def sigma_estimates(self, D: nn.Module) -> Dict[str, torch.Tensor]:
        """Per-layer estimate of the spectral norm of the raw weight, where the method keeps one."""
        return {}


_REGISTRY: Dict[str, type] = {}


def register(name: str, config: type = NormConfig) -> Callable[[type], type]:
    """``@register("name", ItsConfig)``: the normalizer ``norm=name``, with the options ``ItsConfig``
    (a dataclass extending NormConfig; NormConfig itself for a normalizer without options)."""
    def wrap(cls: type) -> type:
        cls.name, cls.config = name, config
        _REGISTRY[name] = cls
        return cls
    return wrap


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def normalizers() -> Dict[str, type]:
    """Every normalizer by name."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def available() -> list:
    return list(normalizers())


def normalizer_class(name: Any) -> type:
    if name not in normalizers():
        raise SnganError(f"norm={name} is unknown: choose one of {', '.join(available())}")
    return _REGISTRY[name]


def build_normalizer(params) -> Normalizer:
    """The normalizer ``params.name`` with the options of ``params``: the composed ``norm`` node, a
    mapping (a checkpoint's: trained.py keeps the keys its schema has) or a namespace. Each option is
    checked against the normalizer's config (name, type, closed choices); the normalizer sees an
    instance of that dataclass."""
    values = _as_dict(params)
    cls = normalizer_class(values.get("name"))
    try:
        options = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls.config), values))
    except OmegaConfBaseException as e:
        raise SnganError(f"norm={cls.name}: {str(e).splitlines()[0]}") from None
    return cls(options)


def _as_dict(params: Any) -> Dict[str, Any]:
    if isinstance(params, Mapping):  # a DictConfig too
        return dict(params.items())
    if dataclasses.is_dataclass(params):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    return dict(vars(params))


def weight_layers(D: nn.Module) -> Iterator[Tuple[str, nn.Module]]:
    """The layers of D that own a weight matrix (conv kernels are seen as d_out x (d_in*h*w))."""
    for name, module in D.named_modules():
        if isinstance(module, WEIGHT_LAYERS):
            yield name, module


def raw_weight(module: nn.Module) -> torch.Tensor:
    """The stored (unnormalized) weight of a possibly parametrized layer."""
    if nn.utils.parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


class ShiftedNorm(nn.Module):
    """A feature normalization without learnable scale gamma, keeping a learnable shift (Sec. 4)."""

    def __init__(self, norm: nn.Module, channels: int) -> None:
        super().__init__()
        self.norm = norm
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) + self.bias.view(1, -1, *([1] * (x.dim() - 2)))
