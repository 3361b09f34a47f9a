"""The cached real features (``real-features-KEY.npy``, float32 [n, D]) that KID, precision/recall
and density/coverage compare generated features with, read safely and checked against the cached
statistics they sit beside (the README's Evaluation section).

A features file is trusted only when it is a plain float array of the statistics' width (and count,
when their record holds it) whose per-dimension mean and variance are those statistics' μ and the
diagonal of Σ: within ``TOLERANCE`` of each dimension's standard deviation √Σ_dd for the mean, and
of Σ_dd for the variance. Features and statistics of one computation agree to about 1e-14 (the same
float32 features, summed in float64 in another order). Features computed by other arithmetic must
pass: the digits classifier's features computed in bfloat16 are up to 4e-3 off (at 16 and 32 px;
tests/metrics/test_real_features.py), and a GPU's TF32 convolutions round to 8 times finer steps
than bfloat16. Features of other images must not:
another sample of n images moves each dimension's mean by about 1/√n standard deviations and its
variance by about √(2/n) of itself, a few times more in the worst of D dimensions (about 0.035 and
0.05 at the paper's n = 10,000), and random or rescaled features are off by far more.
It is a check of consistency, not of authenticity: whoever can write the cache can write both files.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write

TOLERANCE = 1e-2  # in standard deviations for the mean, as a fraction of the variance for the variance
KINDS = {"U": "str", "S": "bytes", "V": "structured", "O": "object", "b": "bool", "i": "integer", "u": "integer",
         "c": "complex", "M": "datetime", "m": "timedelta"}  # numpy's dtype kinds, for the message
CHUNK = 4096  # rows at a time, so a large features file needs no float64 copy of itself


def save_features(path: str | os.PathLike, features: np.ndarray) -> None:
    atomic_write(path, lambda f: np.save(f, np.asarray(features, np.float32), allow_pickle=False))


def read_features(path: str | os.PathLike, n: Optional[int], dim: int) -> np.ndarray:
    """float32 [n, dim] finite features from ``path`` (``n`` None: any count of at least 2), or a one-line
    SnganError naming the file; pickled (object) arrays are never loaded."""
    try:
        features = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, TypeError) as err:
        why = ("it holds pickled objects, which sngan never loads" if "pickle" in str(err)
               else str(err).splitlines()[0] if str(err) else type(err).__name__)
        raise SnganError(f"cannot read cached real features {path}: {why}; delete it to recompute them") from None
    if not isinstance(features, np.ndarray) or features.dtype.kind != "f":
        kind = (f"{KINDS.get(features.dtype.kind, 'other')} values ({features.dtype})" if isinstance(features, np.ndarray)
                else type(features).__name__)
        raise SnganError(f"cached real features {path} hold {kind}, not float features; delete it to recompute them")
    if (features.ndim != 2 or features.shape[1] != dim or features.shape[0] < 2
            or (n is not None and features.shape[0] != n) or not np.isfinite(features).all()):
        raise SnganError(f"cached real features {path} are {features.shape}, not the {n if n is not None else 'n'} x "
                         f"{dim} finite values of their statistics; delete it to recompute them")
    return features.astype(np.float32, copy=False)


def moment_offsets(features: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> tuple[float, float]:
    """How far the features' mean and variance (ddof=1, as Σ's) are from μ and diag(Σ) at worst: in
    standard deviations √Σ_dd, and as a fraction of Σ_dd (compare both with TOLERANCE)."""
    n = features.shape[0]
    mu = np.asarray(mu, np.float64)
    variance = np.clip(np.diag(np.asarray(sigma, np.float64)), 0, None)
    shifted_sum, shifted_squares = np.zeros_like(mu), np.zeros_like(mu)
    for start in range(0, n, CHUNK):  # moments about μ: no cancellation when they agree
        rows = features[start:start + CHUNK].astype(np.float64) - mu
        shifted_sum += rows.sum(axis=0)
        shifted_squares += (rows * rows).sum(axis=0)
    mean_offset = shifted_sum / n
    their_variance = (shifted_squares - n * mean_offset ** 2) / (n - 1)
    floor = 1e-12 * max(float(variance.max(initial=0.0)), 1e-300)  # a dimension that is constant on every image
    return (float(np.max(np.abs(mean_offset) / np.sqrt(variance + floor))),
            float(np.max(np.abs(their_variance - variance) / (variance + floor))))


def mismatch(features: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> Optional[str]:
    """None when the features' mean and variance are μ and diag(Σ) within TOLERANCE; else what differs."""
    mean_offset, variance_offset = moment_offsets(features, mu, sigma)
    if mean_offset <= TOLERANCE and variance_offset <= TOLERANCE:
        return None
    return (f"their mean differs from mu by up to {mean_offset:.3g} standard deviations and their variance from "
            f"sigma's diagonal by up to {variance_offset:.3g} of itself; the tolerance is {TOLERANCE:g}")
