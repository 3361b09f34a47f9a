"""Fréchet distance between Gaussians fitted to detector features: the FID (Heusel et al. 2017; paper Appendix B.1).

FID = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)  (Heusel et al. 2017; paper Appendix B.1),
computed in float64 with the matrix square root of Σ₁Σ₂; when that root is not finite the
covariances get 1e-6·I added and it is taken again, and a large imaginary part is an error, not a
silent NaN.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

SINGULAR_OFFSET = 1e-6
# A real product of two covariances has a real square root; an imaginary part beyond this on the
# diagonal means the statistics are broken (NaNs, mismatched detectors), not rounding.
IMAGINARY_TOLERANCE = 1e-3


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof=1), both float64, of features shaped [N, D]."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be shaped [N >= 2, D], got {features.shape}")
    n, dim = features.shape
    if n < dim:
        warnings.warn(
            f"FID statistics from {n} samples of {dim}-d features: the covariance is singular and "
            "the FID is biased upwards; never compare FIDs computed with different sample counts",
            stacklevel=2,
        )
    return features.mean(axis=0), np.cov(features, rowvar=False, ddof=1)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    # `disp` is deprecated since SciPy 1.16; without it every version returns the root alone. The
    # singular-matrix warning is expected for n < dim and is already raised by feature_statistics.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64, clamped at 0.

    The distance is never negative, but its terms (||mu1 - mu2||², the traces, 2·tr sqrtm(sigma1 sigma2))
    cancel for statistics that are (nearly) the same, and the matrix square root rounds: a set against
    itself comes out at about ±1e-10 of tr(sigma). A negative result is that rounding, so 0 is
    returned and stored instead (the README's Evaluation section says so)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"mismatched statistics: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    if not all(np.isfinite(a).all() for a in (mu1, sigma1, mu2, sigma2)):
        raise ValueError("FID: the statistics contain NaN or infinite values")

    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(dim) * SINGULAR_OFFSET
        warnings.warn(
            f"sqrtm(sigma1 @ sigma2) is not finite; retrying with {SINGULAR_OFFSET}*I added to both covariances",
            stacklevel=2,
        )
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAGINARY_TOLERANCE):
            raise ValueError(
                "FID: sqrtm(sigma1 @ sigma2) has a large imaginary component "
                f"(max |imag| = {np.abs(covmean.imag).max():.3g}); the statistics are not valid covariances"
            )
        covmean = covmean.real

    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)))
