"""Manifold metrics on detector features, which separate sample quality (fidelity) from variety
(diversity) where IS and FID mix the two. Each set's manifold is the union of balls around its
samples, each ball's radius the distance to that sample's k-th nearest neighbour in its own set.

Precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved Precision and
Recall Metric for Assessing Generative Models", NeurIPS; eqs. 1-2, k = 3):
    f(φ, Φ) = 1 if ‖φ − φ'‖₂ ≤ ‖φ' − NN_k(φ')‖₂ for at least one φ' ∈ Φ, else 0
    precision = mean over fake φ of f(φ, Φ_real)     (fake samples that look real: quality)
    recall    = mean over real φ of f(φ, Φ_fake)     (real samples the generator covers: diversity)

Density and coverage (Naeem, Oh, Uh, Choi & Yoo 2020, "Reliable Fidelity and Diversity Metrics for
Generative Models", ICML; section 3, k = 5), with real X₁..X_N and fake Y₁..Y_M:
    density  = 1/(kM) Σⱼ Σᵢ 1[Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))]   (precision counting how many balls; ≈ 1
                                                        for matching distributions, unbounded)
    coverage = 1/N Σᵢ 1[∃ j: Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))]     (recall built on real balls only, so fake
                                                        outliers cannot inflate it)

Conventions are torch-fidelity 0.4.0's `prc` (the reference of the parity tests): Euclidean
distances (torch.cdist), the radius is the (k+1)-th smallest distance of a sample to its own set
counting itself, i.e. the k-th neighbour leaving itself out (a duplicate still counts as a
neighbour), and balls are closed (≤). Distances are float64 by default (`dtype`), so the
comparisons do not depend on float32 rounding or TF32 matmuls. Every distance is computed in
blocks of at most chunk_size × chunk_size, so 50,000 × 50,000 distances never exist at once.
"""
from __future__ import annotations

from typing import Any

import torch

from sngan_cli import SnganError
from sngan_cli.metrics.feature_pairs import Features, feature_pair

PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5
# Largest distance block held at once: 4096² float64 values = 128 MiB.
DEFAULT_CHUNK_SIZE = 4096


def knn_radii(features: torch.Tensor, k: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> torch.Tensor:
    """Distance from each row of features [N, D] to its k-th nearest other row: the (k+1)-th
    smallest distance to all rows, itself included (N >= k + 1). Keeps a running k+1 smallest per
    row over column blocks, so no block is larger than chunk_size × chunk_size."""
    radii = []
    for rows in features.split(chunk_size):
        nearest = rows.new_empty((rows.shape[0], 0))
        for cols in features.split(chunk_size):
            candidates = torch.cat([nearest, torch.cdist(rows, cols)], dim=1)
            nearest = candidates.topk(min(k + 1, candidates.shape[1]), dim=1, largest=False).values
        radii.append(nearest[:, k])
    return torch.cat(radii)


def ball_membership(
    points: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[torch.Tensor, torch.Tensor]:
    """For closed balls B(centers[j], radii[j]): (how many balls hold each point [len(points)],
    int64; whether each ball holds any point [len(centers)], bool), by chunk_size² blocks.

    Distances are taken as knn_radii takes them (centers as rows, the same blocks), so when points
    and centers are the same features each k-th neighbour is bitwise on its ball's boundary, inside.
    """
    counts = torch.zeros(points.shape[0], dtype=torch.int64, device=points.device)
    occupied = torch.zeros(centers.shape[0], dtype=torch.bool, device=points.device)
    for first in range(0, centers.shape[0], chunk_size):
        block_centers = centers[first:first + chunk_size]
        block_radii = radii[first:first + chunk_size, None]
        for start in range(0, points.shape[0], chunk_size):
            inside = torch.cdist(block_centers, points[start:start + chunk_size]) <= block_radii
            occupied[first:first + chunk_size] |= inside.any(dim=1)
            counts[start:start + chunk_size] += inside.sum(dim=0)
    return counts, occupied


def _check_settings(metric: str, k: Any, chunk_size: Any, dtype: Any) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise SnganError(f"{metric}: the neighbourhood size k must be a whole number >= 1, got {k!r}")
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise SnganError(f"{metric}: chunk_size must be a whole number >= 1, got {chunk_size!r}")
    if dtype not in (torch.float32, torch.float64):
        raise SnganError(f"{metric}: distances are computed in torch.float32 or torch.float64, not {dtype}")


@torch.no_grad()
def precision_recall(
    real: Features, fake: Features, k: int = PRECISION_RECALL_K, *,
    chunk_size: int = DEFAULT_CHUNK_SIZE, dtype: torch.dtype = torch.float64,
) -> dict[str, Any]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, eqs. 1-2) of fake against real
    features ([N, D] tensors or arrays, computed on real's device).

    Returns {"precision", "recall", "n_real", "n_fake", "k"}. Raises SnganError when a set has
    fewer than k + 1 samples, the widths differ, or a feature is not finite.
    """
    _check_settings("precision/recall", k, chunk_size, dtype)
    real, fake = feature_pair(real, fake, metric="precision/recall", min_samples=k + 1, dtype=dtype,
                             why=f"for k = {k}")
    fake_in_real, _ = ball_membership(fake, real, knn_radii(real, k, chunk_size), chunk_size)
    real_in_fake, _ = ball_membership(real, fake, knn_radii(fake, k, chunk_size), chunk_size)
    return {
        "precision": float((fake_in_real > 0).double().mean()),
        "recall": float((real_in_fake > 0).double().mean()),
        "n_real": real.shape[0],
        "n_fake": fake.shape[0],
        "k": k,
    }


@torch.no_grad()
def density_coverage(
    real: Features, fake: Features, k: int = DENSITY_COVERAGE_K, *,
    chunk_size: int = DEFAULT_CHUNK_SIZE, dtype: torch.dtype = torch.float64,
) -> dict[str, Any]:
    """Density and coverage (Naeem et al. 2020, section 3) of fake against real features ([N, D]
    tensors or arrays, computed on real's device); only real samples get balls.

    Returns {"density", "coverage", "n_real", "n_fake", "k"}. Raises SnganError when the real set
    has fewer than k + 1 samples, the widths differ, or a feature is not finite.
    """
    _check_settings("density/coverage", k, chunk_size, dtype)
    real, fake = feature_pair(real, fake, metric="density/coverage", min_samples=1, dtype=dtype)
    if real.shape[0] < k + 1:
        raise SnganError(f"density/coverage: needs at least {k + 1} real samples for k = {k}, got {real.shape[0]}")
    balls_holding_fake, covered = ball_membership(fake, real, knn_radii(real, k, chunk_size), chunk_size)
    return {
        "density": float(balls_holding_fake.sum().double() / (k * fake.shape[0])),
        "coverage": float(covered.double().mean()),
        "n_real": real.shape[0],
        "n_fake": fake.shape[0],
        "k": k,
    }
