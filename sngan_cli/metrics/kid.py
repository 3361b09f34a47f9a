"""Kernel Inception Distance (KID): the unbiased squared MMD between real and fake detector
features under a cubic polynomial kernel, averaged over random subsets (Bińkowski, Sutherland,
Arbel & Gretton 2018, "Demystifying MMD GANs", ICLR; the KID of their evaluation-metrics section).

    k(x, y) = (γ xᵀy + c)^degree,  γ = 1/d, c = 1, degree = 3                 (Bińkowski et al. 2018)
    MMD²_u(X, Y) = 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(n(n−1)) Σ_{i≠j} k(yᵢ, yⱼ)
                   − 2/(mn) Σ_{i,j} k(xᵢ, yⱼ)                 (Gretton et al. 2012, JMLR 13, Lemma 6, eq. 3)

Each term is an unbiased mean, so E[MMD²_u] is the population MMD² at any sample size: 0 on
average when the generator matches the data, even with the 1,797 images of digits where FID is
biased upwards. Single values can therefore be slightly negative.

The conventions are torch-fidelity 0.4.0's (the reference of the parity tests): 100 subsets of
1,000 samples, each drawn without replacement and independently from the real and the fake set,
and the population (ddof = 0) standard deviation over subsets. Two differences: a subset size
larger than a set is capped at the smaller set (torch-fidelity stops), and the draws come from a
CPU torch.Generator (torch-fidelity uses numpy's RandomState), so the subsets are not its own;
with one subset of every sample both are deterministic and agree to float64 rounding. The kernel
sums are float64 whatever the features' dtype and device, taken over blocks of at most
chunk_size × chunk_size kernel values.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch

from sngan_cli import SnganError
from sngan_cli.metrics.feature_pairs import Features, feature_pair

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000
DEFAULT_DEGREE = 3
DEFAULT_COEF0 = 1.0
DEFAULT_SEED = 0
# Largest kernel block held at once: 4096² float64 values = 128 MiB.
DEFAULT_CHUNK_SIZE = 4096


def polynomial_kernel(
    x: torch.Tensor, y: torch.Tensor, degree: int = DEFAULT_DEGREE, gamma: Optional[float] = None,
    coef0: float = DEFAULT_COEF0,
) -> torch.Tensor:
    """k(xᵢ, yⱼ) = (γ xᵢᵀyⱼ + c)^degree for rows x [m, d] and y [n, d]: a [m, n] matrix; γ = 1/d if None."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def _kernel_sum(x: torch.Tensor, y: torch.Tensor, chunk_size: int, **kernel: Any) -> torch.Tensor:
    """Σ_{i,j} k(xᵢ, yⱼ), one chunk_size × chunk_size block of the kernel matrix at a time."""
    total = x.new_zeros(())
    for rows in x.split(chunk_size):
        for cols in y.split(chunk_size):
            total += polynomial_kernel(rows, cols, **kernel).sum()
    return total


def unbiased_mmd2(
    x: torch.Tensor, y: torch.Tensor, degree: int = DEFAULT_DEGREE, gamma: Optional[float] = None,
    coef0: float = DEFAULT_COEF0, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> torch.Tensor:
    """MMD²_u of samples x [m, d] and y [n, d] under the polynomial kernel (Gretton et al. 2012,
    Lemma 6, eq. 3), as a 0-d tensor in the dtype of x. The within-set sums leave out i = j; the
    cross sum keeps every pair. Needs m, n >= 2; the caller checks its inputs."""
    m, n = x.shape[0], y.shape[0]
    kernel = dict(degree=degree, gamma=1.0 / x.shape[1] if gamma is None else gamma, coef0=coef0)
    # k(xᵢ, xᵢ) from the squared norms: the diagonal without forming the matrix
    diag_x = ((kernel["gamma"] * (x * x).sum(dim=1) + coef0) ** degree).sum()
    diag_y = ((kernel["gamma"] * (y * y).sum(dim=1) + coef0) ** degree).sum()
    within_x = (_kernel_sum(x, x, chunk_size, **kernel) - diag_x) / (m * (m - 1))
    within_y = (_kernel_sum(y, y, chunk_size, **kernel) - diag_y) / (n * (n - 1))
    across = _kernel_sum(x, y, chunk_size, **kernel) / (m * n)
    return within_x + within_y - 2.0 * across


def _check_settings(
    subsets: Any, subset_size: Any, degree: Any, gamma: Any, coef0: Any, seed: Any, chunk_size: Any
) -> None:
    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not whole(subsets) or subsets < 1:
        raise SnganError(f"KID: subsets must be a whole number >= 1, got {subsets!r}")
    if not whole(subset_size) or subset_size < 2:
        raise SnganError(
            f"KID: subset_size must be a whole number >= 2 (the unbiased MMD² needs 2), got {subset_size!r}"
        )
    if not whole(degree) or degree < 1:
        raise SnganError(f"KID: the kernel degree must be a whole number >= 1, got {degree!r}")
    if gamma is not None and not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma > 0):
        raise SnganError(f"KID: the kernel gamma must be a finite number > 0 or None (1/d), got {gamma!r}")
    if not (isinstance(coef0, (int, float)) and math.isfinite(coef0)):
        raise SnganError(f"KID: the kernel coef0 must be a finite number, got {coef0!r}")
    if not whole(seed):
        raise SnganError(f"KID: the seed must be a whole number, got {seed!r}")
    if not whole(chunk_size) or chunk_size < 1:
        raise SnganError(f"KID: chunk_size must be a whole number >= 1, got {chunk_size!r}")


@torch.no_grad()
def kernel_inception_distance(
    real_features: Features,
    fake_features: Features,
    subsets: int = DEFAULT_SUBSETS,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    degree: int = DEFAULT_DEGREE,
    gamma: Optional[float] = None,
    coef0: float = DEFAULT_COEF0,
    *,
    seed: int = DEFAULT_SEED,
    generator: Optional[torch.Generator] = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, Any]:
    """KID of fake against real features ([N, D] tensors or arrays, computed on real's device).

    For each of `subsets` subsets, `subset_size` real and `subset_size` fake rows are drawn without
    replacement (real first, then fake, from one CPU generator: `generator`, else one seeded with
    `seed`, so a seed gives the same subsets on any device) and MMD²_u is taken with the kernel
    (γ xᵀy + coef0)^degree, γ = 1/D when None. subset_size is capped at the smaller set.

    Returns {"mean", "std" (population, over subsets), "subsets", "subset_size" (as used),
    "n_real", "n_fake", "degree", "gamma" (as used), "coef0", "seed" (None with a generator)}.
    Raises SnganError for fewer than 2 samples in a set, different widths, non-finite features or
    invalid settings.
    """
    _check_settings(subsets, subset_size, degree, gamma, coef0, seed, chunk_size)
    real, fake = feature_pair(real_features, fake_features, metric="KID", min_samples=2, dtype=torch.float64)
    seeded_here = generator is None
    if seeded_here:
        generator = torch.Generator(device="cpu").manual_seed(seed)
    elif generator.device.type != "cpu":
        raise SnganError(f"KID: the subset generator must be a CPU torch.Generator, got one on {generator.device}")
    n_real, n_fake = real.shape[0], fake.shape[0]
    size = min(subset_size, n_real, n_fake)
    gamma = 1.0 / real.shape[1] if gamma is None else float(gamma)
    values = []
    for _ in range(subsets):
        real_rows = torch.randperm(n_real, generator=generator)[:size].to(real.device)
        fake_rows = torch.randperm(n_fake, generator=generator)[:size].to(real.device)
        values.append(
            unbiased_mmd2(real[real_rows], fake[fake_rows], degree, gamma, float(coef0), chunk_size=chunk_size)
        )
    values = torch.stack(values).cpu()
    return {
        "mean": float(values.mean()),
        "std": float(values.std(unbiased=False)),
        "subsets": subsets,
        "subset_size": size,
        "n_real": n_real,
        "n_fake": n_fake,
        "degree": degree,
        "gamma": gamma,
        "coef0": float(coef0),
        "seed": seed if seeded_here else None,
    }
