"""Detectors by name (SPEC section 4; STYLE: names, not import paths, choose detectors).

The name is what records and statistics-cache keys carry, so it stays stable.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import torch

from sngan_cli import SnganError
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.digits_classifier import build_digits_detector
from sngan_cli.metrics.tf_inception import build_inception_detector

DETECTORS: dict[str, Callable[..., Detector]] = {
    "inception": build_inception_detector,
    "digits-classifier": build_digits_detector,
}


def build_detector(
    name: str,
    weights_path: str | os.PathLike | None = None,
    *,
    device: torch.device | str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
) -> Detector:
    """The detector called `name`; `weights_path` overrides where its weights come from."""
    if name not in DETECTORS:
        raise SnganError(f"detector={name} is unknown: choose one of {', '.join(sorted(DETECTORS))}")
    options = {} if batch_size is None else {"batch_size": batch_size}
    return DETECTORS[name](weights_path, device=device, cache_dir=cache_dir, **options)
