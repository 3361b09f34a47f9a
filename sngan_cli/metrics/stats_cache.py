"""Real-data feature statistics (μ, Σ) for FID, cached on disk (paper Appendix B.1; the README's
Evaluation section).

A cached file is named by a hash of everything that changes the numbers, known before any image is
read (dataset, split, resolution, the count of real images asked for, detector and its weights'
hash: the caller's `key`), written atomically, and stores `mu` and `sigma` as pytorch-fid's `.npz`
files do, plus the record (the key and what computing the statistics learned, such as the number of
images) as a JSON string so every FID can say which reference it was computed against.

The metrics that compare samples rather than moments (KID, precision/recall, density/coverage) need
the real features themselves: those are cached beside the statistics under the same key
(``real-features-KEY.npy``, float32 [n, D]), when a metric first asks for them, and used only when
they agree with the statistics beside them (real_features.py). When they do not, sngan refuses and
names the files to delete rather than rebuilding them on its own: it cannot tell which of the two
is wrong, and the statistics may be the ones earlier FIDs were computed against. Features
computed again (when only the statistics are cached) are checked against those statistics the same
way before they are written, so statistics of other images are named too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write
from sngan_cli.metrics.cache import default_cache_dir
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.real_features import mismatch, read_features, save_features


@dataclass(frozen=True)
class ReferenceStats:
    mu: np.ndarray  # float64 [D]
    sigma: np.ndarray  # float64 [D, D]
    record: dict[str, Any] = field(default_factory=dict)
    features: np.ndarray | None = None  # float32 [n, D], the real features, where a metric asked for them


def reference_record(*, dataset: str, split: str, resolution: int, detector: Detector, **extra: Any) -> dict[str, Any]:
    """The record of real-data statistics; `extra` for anything else that changes them (the count of
    real images, the seed that picked a subset)."""
    return {
        "dataset": dataset,
        "split": split,
        "resolution": resolution,
        "detector": detector.name,
        "detector_weights_sha256": detector.weights_sha256,
        **extra,
    }


def _canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    # The JSON round trip is what a record looks like once stored; compare and hash that form.
    return json.loads(json.dumps(dict(record), sort_keys=True, default=str))


def stats_key(record: Mapping[str, Any]) -> str:
    blob = json.dumps(_canonical(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def stats_path(record: Mapping[str, Any], cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "stats" / f"fid-stats-{stats_key(record)}.npz"


def features_path(record: Mapping[str, Any], cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "stats" / f"real-features-{stats_key(record)}.npy"


def save_stats(path: str | os.PathLike, stats: ReferenceStats) -> None:
    """Write `mu`, `sigma` (float64, as pytorch-fid reads them) and the record as JSON, atomically."""
    arrays = {
        "mu": np.asarray(stats.mu, np.float64),
        "sigma": np.asarray(stats.sigma, np.float64),
        "record": np.array(json.dumps(_canonical(stats.record), sort_keys=True)),
    }
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_reference_stats(path: str | os.PathLike, feature_dim: int | None = None) -> ReferenceStats:
    """Statistics from an `.npz` with `mu` [D] and `sigma` [D, D] (ours or pytorch-fid's), checked."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"mu", "sigma"} - set(f.files)
            if missing:
                raise SnganError(
                    f"reference statistics {path} lack {sorted(missing)}: an .npz needs 'mu' and 'sigma'"
                )
            mu, sigma = f["mu"], f["sigma"]
            record = json.loads(str(f["record"])) if "record" in f.files else {}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        why = ("it is not an .npz of arrays (numpy reads it as pickled objects, which sngan never loads)"
               if "pickle" in str(err) else str(err).splitlines()[0] if str(err) else type(err).__name__)
        raise SnganError(f"cannot read reference statistics {path}: {why}") from None

    dim = mu.shape[0] if mu.ndim == 1 else None
    if dim is None or sigma.shape != (dim, dim):
        raise SnganError(
            f"reference statistics {path}: mu must be [D] and sigma [D, D], got {mu.shape} and {sigma.shape}"
        )
    if feature_dim is not None and dim != feature_dim:
        raise SnganError(
            f"reference statistics {path} are {dim}-d but the detector's features are {feature_dim}-d"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise SnganError(f"reference statistics {path} contain NaN or infinite values")
    check_covariance(sigma, path)
    return ReferenceStats(mu.astype(np.float64), sigma.astype(np.float64), {**record, "source": str(path)})


def check_covariance(sigma: np.ndarray, path: str | os.PathLike) -> None:
    """A covariance is symmetric and positive semi-definite (up to rounding); anything else would make
    the FID's matrix square root complex or meaningless."""
    sigma = np.asarray(sigma, np.float64)
    scale = max(float(np.abs(sigma).max()), 1e-300)
    if not np.allclose(sigma, sigma.T, rtol=0, atol=1e-6 * scale):
        raise SnganError(f"reference statistics {path}: sigma is not symmetric, so it is not a covariance")
    lowest = float(np.linalg.eigvalsh((sigma + sigma.T) / 2).min())
    if lowest < -1e-6 * scale:
        raise SnganError(f"reference statistics {path}: sigma has a negative eigenvalue ({lowest:.3g}), so it is not "
                         f"a covariance (positive semi-definite)")


def cached_reference_stats(
    key: Mapping[str, Any],
    compute: Callable[[], ReferenceStats],
    cache_dir: str | os.PathLike | None = None,
    with_features: bool = False,
) -> ReferenceStats:
    """The statistics cached under `key`: read from the cache, or `compute()`d and cached with the
    record `key` plus the record `compute` returns (what computing learned, e.g. ``n_samples``);
    `with_features`: the real features too (computed again when only the statistics are cached),
    checked against the statistics."""
    path, feature_file = stats_path(key, cache_dir), features_path(key, cache_dir)
    if not path.is_file():
        computed = compute()
        if with_features:
            save_features(feature_file, computed.features)
        save_stats(path, ReferenceStats(computed.mu, computed.sigma, {**key, **computed.record}))
    stats = load_reference_stats(path)
    if not with_features:
        return stats
    n = stats.record.get("n_samples")
    n = n if isinstance(n, int) and not isinstance(n, bool) else None  # None: an npz without sngan's record
    if not feature_file.is_file():
        computed = compute()
        features = np.asarray(computed.features, np.float32)
        wrong = (f"they are of {n} images, the real images {len(features)}" if n not in (None, len(features))
                 else mismatch(features, stats.mu, stats.sigma))
        if wrong:
            raise SnganError(f"cached statistics {path} are not those of the real images whose features were just "
                             f"computed ({wrong}); delete it to recompute it")
        save_features(feature_file, features)
    features = read_features(feature_file, n, stats.mu.shape[0])
    wrong = mismatch(features, stats.mu, stats.sigma)
    if wrong:
        foreign = "; the statistics hold only mu and sigma, without sngan's record" if n is None else ""
        raise SnganError(f"cached real features {feature_file} do not match the statistics {path} beside them "
                         f"({wrong}{foreign}): one of the two is not what sngan computed; delete both to "
                         f"recompute them from the dataset (the next evaluation with these metrics does, or sngan stats ... features=true)")
    return dataclasses.replace(stats, features=features)
