"""Scoring a stream of generated images against a reference, and the one result every evaluation
writes (paper Sec. 4 and Appendix B.1; the README's Evaluation section).

Images arrive as uint8, quantized from G's output exactly as the saved PNGs are (images.to_uint8),
so a score from a checkpoint and a score from its image folder agree. The Inception Score and the
FID may use different counts of the same generated images (the protocol's: IS on all of them, FID
on the first ``n_generated_fid``); the record names both.

``score`` builds the result of ``sngan eval`` (``eval.json``, ``NAME.eval.json``, the printout for an
image folder) and of each evaluation during training (a line of ``metrics.jsonl``): the public keys
``inception_score_mean``, ``inception_score_std``, ``fid`` (None without reference statistics), the
``step`` of G (None for an image folder) and the ``record`` that makes the numbers traceable.

Beyond the paper's two, ``metrics`` may ask for the ones that compare samples, on the FID's images
against the real features (``SAMPLE_METRICS``): KID (Bińkowski et al. 2018), precision and recall
(Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020). Each adds its numbers to the
result and its sample counts and settings to the record; a metric is added by one entry there.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from scipy.special import softmax

from sngan_cli import SnganError, __version__
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance
from sngan_cli.metrics.inception_score import inception_score
from sngan_cli.metrics.kid import kernel_inception_distance
from sngan_cli.metrics.manifold import density_coverage, precision_recall
from sngan_cli.metrics.protocol import Protocol
from sngan_cli.metrics.stats_cache import ReferenceStats

__all__ = [
    "METRICS",
    "ImageBatches",
    "check_compatible",
    "compute_features",
    "reference_statistics",
    "scalars",
    "score",
]

# uint8 RGB tensors [N, 3, H, W], or a callable that returns such an iterable (e.g. a generator function).
ImageBatches = Union[Iterable[torch.Tensor], Callable[[], Iterable[torch.Tensor]]]


# metrics=NAME: the function of (real, generated) features, and the result key of each number it
# returns (its other entries, the counts and settings, go into the record under NAME)
SAMPLE_METRICS: Dict[str, tuple[Callable[..., Dict[str, Any]], Dict[str, str]]] = {
    "kid": (kernel_inception_distance, {"mean": "kid_mean", "std": "kid_std"}),
    "pr": (precision_recall, {"precision": "precision", "recall": "recall"}),
    "dc": (density_coverage, {"density": "density", "coverage": "coverage"}),
}
PAPER_METRICS = ("is", "fid")  # computed by every evaluation
METRICS = (*PAPER_METRICS, *SAMPLE_METRICS)


def with_paper_metrics(names) -> tuple[str, ...]:
    """``names`` with IS and FID, in METRICS order."""
    return tuple(m for m in METRICS if m in names or m in PAPER_METRICS)


def needs_real_features(metrics) -> bool:
    return any(m in SAMPLE_METRICS for m in metrics)


def parse_metrics(text: str) -> tuple[str, ...]:
    """``metrics=kid,pr`` as ``with_paper_metrics`` gives it; one line naming the unknown ones."""
    asked = [m.strip() for m in str(text).split(",") if m.strip()]
    if not asked or any(m not in METRICS for m in asked):
        raise SnganError(f"metrics={text} is not allowed: choose from {', '.join(METRICS)} (comma-separated)")
    return with_paper_metrics(asked)


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
    protocol: Protocol,
    n_generated: int,
    step: Optional[int] = None,
    metrics: tuple[str, ...] = PAPER_METRICS,
    **source: Any,
) -> Dict[str, Any]:
    """IS (mean, std over the protocol's splits) of the first `n_generated` uint8 images of `generated`
    and FID of the first ``protocol.n_generated_fid`` of them against `reference` (no FID when None),
    as the result sngan writes; `step` is G's, and `source` (the checkpoint and seed, or the image
    folder) goes into the record. `metrics` beyond "is" and "fid" (SAMPLE_METRICS) compare the same
    images as the FID with the reference's features (``reference.features``)."""
    if n_generated < protocol.is_splits:
        raise SnganError(f"{n_generated} images are too few: the Inception Score of protocol={protocol.name} needs "
                         f"at least {protocol.is_splits}, one per split")
    n_fid = min(protocol.n_generated_fid, n_generated)
    try:
        features, logits = compute_features(detector, generated, n_generated)
        is_mean, is_std = inception_score(softmax(logits.astype(np.float64), axis=1), protocol.is_splits)
        fid = None
        if reference is not None:
            check_compatible(detector, reference)
            fid = frechet_distance(*feature_statistics(features[:n_fid]), reference.mu, reference.sigma)
    except ValueError as e:  # statistics that are not valid covariances, features of the wrong shape
        where = reference.record.get("source", "the reference") if reference is not None else "the images"
        raise SnganError(f"cannot score against {where}: {str(e).splitlines()[0] if str(e) else e!r}") from None
    if fid is not None and not np.isfinite(fid):
        raise SnganError("the FID is not finite; the generated images may be degenerate")
    extra, extra_record = {}, {}
    for name in (m for m in metrics if m in SAMPLE_METRICS):
        if reference is None or reference.features is None:
            raise SnganError(f"metrics={name} needs the real images' features: a reference folder or dataset")
        metric, keys = SAMPLE_METRICS[name]
        numbers = metric(reference.features, features[:n_fid])
        extra.update({keys[k]: numbers.pop(k) for k in keys})
        extra_record[name] = numbers
    real = reference.record if reference is not None else {}
    return {
        "inception_score_mean": is_mean,
        "inception_score_std": is_std,
        "fid": fid,
        **extra,
        "step": step,
        "record": {
            "metrics": list(metrics),
            "protocol": protocol.name,
            "n_generated": n_generated,
            "n_generated_is": n_generated,
            "n_generated_fid": n_fid,
            "splits": protocol.is_splits,
            "n_real": real.get("n_samples"),
            "reference": f"{real['dataset']}/{real['split']}" if "dataset" in real else real.get("source"),
            "reference_file": real.get("source"),  # the statistics file used: the cache entry or the given .npz
            "detector": detector.name,
            "weights_sha256": detector.weights_sha256,
            "code_version": __version__,
            **extra_record,
            **source,
        },
    }


def scalars(result: Dict[str, Any]) -> Dict[str, float]:
    """The TensorBoard scalars of a result (``sngan eval`` of a run and ``train.eval_every`` log these tags)."""
    out = {"metrics/IS": result["inception_score_mean"]}
    if result["fid"] is not None:
        out["metrics/FID"] = result["fid"]
    for key, tag in SCALAR_TAGS.items():
        if result.get(key) is not None:
            out[tag] = result[key]
    return out


SCALAR_TAGS = {"kid_mean": "metrics/KID", "precision": "metrics/precision", "recall": "metrics/recall",
               "density": "metrics/density", "coverage": "metrics/coverage"}
