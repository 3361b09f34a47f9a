"""Normalizers of the discriminator, chosen by name (SPEC section 1, the rows of Table 2).

A normalizer is one small class in one file of this package, registered with
``@register("name")``. It may change how D is built (a feature-normalization layer after each
conv), reparametrize D's weights (``apply``), run work before or after each D update, and add a
penalty to D's loss. Everything it does touches D only; G always uses batch normalization.
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
from torch import nn

from sngan_cli import SnganError

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)


class Normalizer:
    """Does nothing; subclasses override the hooks that apply to them."""

    name = "none"

    def __init__(self, params) -> None:
        self.params = params

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


def register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return wrap


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def available() -> list:
    _load_all()
    return sorted(_REGISTRY)


def build_normalizer(params) -> Normalizer:
    """``params`` has a ``name`` and the numbers of NormConfig (a DictConfig or the dataclass)."""
    _load_all()
    if params.name not in _REGISTRY:
        raise SnganError(f"norm={params.name} is unknown: choose one of {', '.join(available())}")
    return _REGISTRY[params.name](params)


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
