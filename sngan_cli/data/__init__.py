"""Datasets by name. Each loader returns an :class:`ImageSet`: uint8 images (N, 3, R, R) in memory,
or a lazily read map-style dataset for sets too large for memory (ImageNet)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import torch

from sngan_cli import SnganError


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


def register(name: str) -> Callable[[Loader], Loader]:
    def wrap(fn: Loader) -> Loader:
        _REGISTRY[name] = fn
        return fn
    return wrap


def load_dataset(name: str, root: str, resolution: int, download: bool = True, **options) -> ImageSet:
    from sngan_cli.data import digits, folder, torchvision_sets  # noqa: F401  (registration)

    if name not in _REGISTRY:
        raise SnganError(f"dataset={name} is unknown: choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](root=root, resolution=resolution, download=download, **options)
