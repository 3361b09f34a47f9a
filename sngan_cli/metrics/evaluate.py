"""Scoring generated images: IS and FID with the record that makes them traceable (SPEC section 4).

Generator outputs in [-1, 1] are quantized to uint8 exactly as the saved PNGs are (`quantize`:
(clamp(x, −1, 1) + 1) · 127.5 truncated, as the authors' evaluation code does, or rounded, by the
run's `eval.quantize`), so a score from a checkpoint and a score from its image folder agree.
Inception Score and FID may use different counts of the same generated images (the protocol's:
IS on all of them, FID on the first `n_fid`); the record names both. The metric keys are the public contract:
`inception_score_mean`, `inception_score_std`, `fid` (None without reference statistics), `record`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Optional, Union

import numpy as np
import torch
from scipy.special import softmax

from sngan_cli import SnganError, __version__
from sngan_cli.images import to_uint8 as quantize  # the one quantization of every image sngan writes
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance
from sngan_cli.metrics.inception_score import inception_score
from sngan_cli.metrics.stats_cache import ReferenceStats

__all__ = [
    "ImageBatches",
    "check_compatible",
    "compute_features",
    "quantize",
    "reference_statistics",
    "score",
]

# uint8 RGB tensors [N, 3, H, W], or a callable that returns such an iterable (e.g. a generator function).
ImageBatches = Union[Iterable[torch.Tensor], Callable[[], Iterable[torch.Tensor]]]


def compute_features(
    detector: Detector, batches: ImageBatches, n_samples: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """float32 (features [n, F], logits [n, C]) of the first `n_samples` images (all when None)."""
    if callable(batches):
        batches = batches()
    features, logits, count = [], [], 0
    for batch in batches:
        if n_samples is not None:
            batch = batch[: n_samples - count]
        f, l = detector.features_and_logits(batch)
        features.append(f.numpy())
        logits.append(l.numpy())
        count += len(batch)
        if n_samples is not None and count >= n_samples:
            break
    if count == 0 or (n_samples is not None and count < n_samples):
        raise SnganError(f"only {count} images were available, {n_samples or 'at least one'} needed")
    return np.concatenate(features), np.concatenate(logits)


def reference_statistics(
    detector: Detector, batches: ImageBatches, n_samples: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """float64 (μ, Σ) of the detector features of real images, for the statistics cache."""
    return feature_statistics(compute_features(detector, batches, n_samples)[0])


def check_compatible(detector: Detector, reference: ReferenceStats) -> None:
    """Refuse a FID between features of different detectors or weights."""
    if reference.mu.shape[0] != detector.feature_dim:
        raise SnganError(
            f"reference statistics are {reference.mu.shape[0]}-d; {detector.name} features are {detector.feature_dim}-d"
        )
    for key, ours in (("detector", detector.name), ("detector_weights_sha256", detector.weights_sha256)):
        theirs = reference.record.get(key)
        if theirs is not None and theirs != ours:
            raise SnganError(f"reference statistics were computed with {key}={theirs}, not {ours}; recompute them")


def score(
    detector: Detector,
    generated: ImageBatches,
    reference: Optional[ReferenceStats],
    n_samples: int,
    splits: int = 10,
    n_fid: Optional[int] = None,
) -> dict[str, Any]:
    """IS (mean, std over `splits`) of `n_samples` generated uint8 images and FID of the first `n_fid`
    of them (all when None), with their record."""
    features, logits = compute_features(detector, generated, n_samples)
    n_fid = n_samples if n_fid is None else min(n_fid, n_samples)
    is_mean, is_std = inception_score(softmax(logits.astype(np.float64), axis=1), splits)
    record: dict[str, Any] = {
        "n_generated": n_samples,
        "n_generated_is": n_samples,
        "n_generated_fid": n_fid,
        "is_splits": splits,
        "detector": detector.name,
        "detector_weights_sha256": detector.weights_sha256,
        "code_version": __version__,
    }
    fid = None
    if reference is not None:
        check_compatible(detector, reference)
        fid = frechet_distance(*feature_statistics(features[:n_fid]), reference.mu, reference.sigma)
        record["reference"] = reference.record
    return {"inception_score_mean": is_mean, "inception_score_std": is_std, "fid": fid, "record": record}
