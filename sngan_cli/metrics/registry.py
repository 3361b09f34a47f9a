"""Detectors by name (paper Sec. 4 and Appendix B.1: the Inception network of the Inception Score and
the FID; the README's Evaluation section), and the one factory that builds them.

The name is what records and statistics-cache keys carry, so it stays stable. ``auto`` picks the
detector a dataset is scored with: the offline digits classifier for the embedded digits, else the
TF Inception.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import torch

from sngan_cli import SnganError
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.digits_classifier import NAME as DIGITS_CLASSIFIER
from sngan_cli.metrics.digits_classifier import build_digits_detector
from sngan_cli.metrics.tf_inception import NAME as INCEPTION
from sngan_cli.metrics.tf_inception import build_inception_detector

DETECTORS: dict[str, Callable[..., Detector]] = {
    INCEPTION: build_inception_detector,
    DIGITS_CLASSIFIER: build_digits_detector,
}
AUTO = "auto"
CHOICES = (AUTO, *DETECTORS)  # what eval.detector, `sngan eval detector=` and `sngan stats detector=` take


def detector_name(requested: str, dataset: str | None = None) -> str:
    """The detector ``requested`` names; for ``auto``, the one ``dataset`` is scored with."""
    if requested != AUTO:
        return requested
    return DIGITS_CLASSIFIER if dataset == "digits" else INCEPTION


def build_detector(
    name: str,
    weights_path: str | os.PathLike | None = None,
    *,
    dataset: str | None = None,
    inception_weights: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
) -> Detector:
    """The detector called `name` (``auto``: the one for `dataset`). `weights_path` overrides where
    its weights come from; `inception_weights` (``eval.inception_weights``, ``inception_weights=``)
    does so only when the detector is the Inception."""
    name = detector_name(name, dataset)
    if name not in DETECTORS:
        raise SnganError(f"detector={name} is unknown: choose one of {', '.join(sorted(DETECTORS))}")
    if weights_path is None and name == INCEPTION:
        weights_path = inception_weights
    options = {} if batch_size is None else {"batch_size": batch_size}
    return DETECTORS[name](weights_path, device=device, cache_dir=cache_dir, **options)
