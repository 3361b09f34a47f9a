"""Datasets by name. Each loader returns an :class:`ImageSet`: uint8 images (N, 3, R, R) in memory,
or a lazily read map-style dataset for sets too large for memory (ImageNet).

A dataset is a loader registered with ``@register("name", ItsConfig(...))``: its options, a dataclass
extending DatasetConfig with the dataset's defaults, are what ``dataset=name`` composes
(config/schema.py registers each), and the loader is called with them as keyword arguments.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import torch
from omegaconf import MISSING

from sngan_cli import SnganError
from sngan_cli.config import positive


@dataclass
class DatasetConfig:
    """The options every dataset has."""

    name: str = MISSING
    # where the files are: each dataset's config gives its default, or leaves it ??? (folder: required).
    # (No default here: merged under a dataset's options, it would fill their ???.)
    root: str = MISSING
    resolution: int = positive(32)
    download: bool = True


@dataclass
class ImageSet:
    name: str
    resolution: int
    num_classes: int
    images: Optional[torch.Tensor] = None  # uint8 (N, 3, R, R), when it fits in memory
    labels: Optional[torch.Tensor] = None  # int64 (N,) or None
    lazy: Optional[torch.utils.data.Dataset] = None  # yields (uint8 (3, R, R), label)

    def __len__(self) -> int:
        return len(self.images) if self.images is not None else len(self.lazy)


Loader = Callable[..., ImageSet]
_REGISTRY: Dict[str, Loader] = {}
_CONFIGS: Dict[str, DatasetConfig] = {}


def register(name: str, config: DatasetConfig) -> Callable[[Loader], Loader]:
    """``@register("name", ItsConfig(resolution=..., ...))``: the loader of ``dataset=name`` and its
    options with their defaults."""
    def wrap(fn: Loader) -> Loader:
        _REGISTRY[name] = fn
        _CONFIGS[name] = dataclasses.replace(config, name=name)
        return fn
    return wrap


def configs() -> Dict[str, DatasetConfig]:
    """Every dataset's options, by name."""
    from sngan_cli.data import digits, folder, torchvision_sets  # noqa: F401  (registration)

    return dict(sorted(_CONFIGS.items()))


def check_has_value(root: Optional[str], option: str = "dataset.root", example: str = "/path/to/images") -> None:
    """Refuse a root left without a value: ``???`` (omegaconf's MISSING, which a composed config turns
    into that text: dataset=folder has no default root) or None."""
    if root is None or root == MISSING:
        raise SnganError(f"{option} has no value: give {option}={example}")


def load_dataset(name: str, root: str, resolution: int, download: bool = True, **options) -> ImageSet:
    """The dataset ``name``; ``options``: the others of its config (``load_dataset(**cfg.dataset)``)."""
    if name not in configs():
        raise SnganError(f"dataset={name} is unknown: choose one of {', '.join(sorted(_REGISTRY))}")
    check_has_value(root, example="/path/to/images" if name == "folder" else f"/path/to/{name}")
    return _REGISTRY[name](root=root, resolution=resolution, download=download, **options)
