"""KID (sngan_cli/metrics/kid.py): parity with torch-fidelity 0.4.0 on the same features, known
answers, unbiasedness at small sample counts (against FID's bias), subset draws and errors.

Parity is checked two ways, because torch-fidelity draws its subsets with numpy's RandomState and
sngan with a CPU torch.Generator, so the same seed does not give the same subsets:
- exactly, where both are deterministic: one subset holding every sample (subset_size = n, so each
  "draw" is a permutation and MMD² does not depend on the order), and the per-subset estimator
  (`unbiased_mmd2` against torch-fidelity's `kernel_mmd`) on the same rows;
- statistically, for 100 subsets of a larger set: both means estimate the same average over all
  subset pairs, so they must agree within the standard error of a difference of two such means.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

from sngan_cli import SnganError
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance
from sngan_cli.metrics.kid import kernel_inception_distance, polynomial_kernel, unbiased_mmd2

KEYS = {"mean", "std", "subsets", "subset_size", "n_real", "n_fake", "degree", "gamma", "coef0", "seed"}


def _features(n: int, dim: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Correlated Gaussian features (float64) with ReLU-like non-negative tails, like pooled activations."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return np.abs(scale * rng.normal(size=(n, dim)) @ mixing + shift)


def _theirs(real: np.ndarray, fake: np.ndarray, **kwargs) -> dict:
    return kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), verbose=False, **kwargs)


# --- parity with torch-fidelity -------------------------------------------------------------------

@pytest.mark.parametrize("n, dim", [(200, 64), (64, 2048), (300, 8)])
def test_one_subset_of_every_sample_matches_torch_fidelity(n: int, dim: int) -> None:
    """float64 features on both sides: the same sums in float64, so agreement to rounding (1e-9 relative)."""
    real, fake = _features(n, dim, seed=1), _features(n, dim, seed=2, shift=0.05)
    ours = kernel_inception_distance(real, fake, subsets=1, subset_size=n)
    theirs = _theirs(real, fake, kid_subsets=1, kid_subset_size=n)
    assert ours["mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9, abs=1e-15)
    assert ours["std"] == theirs["kernel_inception_distance_std"] == 0.0


@pytest.mark.parametrize("degree, gamma, coef0", [(3, None, 1.0), (2, 0.01, 0.5), (1, None, 0.0), (4, 0.1, 2.0)])
def test_per_subset_estimator_matches_torch_fidelity(degree: int, gamma, coef0: float) -> None:
    x, y = _features(120, 32, seed=3), _features(120, 32, seed=4, scale=1.2)
    theirs = kernel_mmd(x, y, kid_kernel="poly", kid_kernel_poly_degree=degree, kid_kernel_poly_gamma=gamma,
                        kid_kernel_poly_coef0=coef0)
    ours = unbiased_mmd2(torch.from_numpy(x), torch.from_numpy(y), degree, gamma, coef0)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-9, abs=1e-15)


def test_float32_features_agree_with_torch_fidelity_to_its_float32_rounding() -> None:
    """torch-fidelity computes the kernel in the features' dtype; on float32 features (its usual
    input) its kernel values carry float32 rounding (~6e-8 relative), so the two agree to ~1e-6 of
    the kernel's scale (the mean cross-kernel value), not to 1e-9 of the KID itself."""
    real = _features(300, 256, seed=5).astype(np.float32)
    fake = _features(300, 256, seed=6, shift=0.1).astype(np.float32)
    ours = kernel_inception_distance(real, fake, subsets=1, subset_size=300)
    theirs = _theirs(real, fake, kid_subsets=1, kid_subset_size=300)
    x, y = torch.from_numpy(real).double(), torch.from_numpy(fake).double()
    kernel_scale = float(polynomial_kernel(x, y).mean())
    assert ours["mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], abs=1e-6 * kernel_scale)


def test_many_subsets_agree_with_torch_fidelity_statistically() -> None:
    """Different random subsets: the means differ by sampling noise only. With S subsets each mean
    has standard error σ/√S (σ: the spread of one subset's value, estimated by the reported std),
    so the difference of the two means must stay within 4·√(σ₁² + σ₂²)/√S; the std themselves agree
    within 30 % (the std of an std estimate from 100 values is ~7 %)."""
    real, fake = _features(600, 64, seed=7), _features(500, 64, seed=8, shift=0.03)
    subsets, size = 100, 100
    ours = kernel_inception_distance(real, fake, subsets=subsets, subset_size=size, seed=11)
    theirs = _theirs(real, fake, kid_subsets=subsets, kid_subset_size=size)
    their_mean, their_std = theirs["kernel_inception_distance_mean"], theirs["kernel_inception_distance_std"]
    assert abs(ours["mean"] - their_mean) < 4 * math.hypot(ours["std"], their_std) / math.sqrt(subsets)
    assert ours["std"] == pytest.approx(their_std, rel=0.3)
    assert ours["mean"] > 4 * ours["std"] / math.sqrt(subsets)  # the shift is detected at all


# --- known answers ---------------------------------------------------------------------------------

def test_identical_sets_in_one_subset_give_the_closed_form() -> None:
    """X = Y: the within sums cancel the cross sum but for the diagonal the cross sum keeps, so
    MMD²_u = (2/n)·(mean off-diagonal k(xᵢ, xⱼ) − mean k(xᵢ, xᵢ)): slightly negative, O(1/n)."""
    n, dim = 150, 16
    x = _features(n, dim, seed=9)
    kernel = (x @ x.T / dim + 1.0) ** 3
    mean_diag = np.trace(kernel) / n
    mean_off = (kernel.sum() - np.trace(kernel)) / (n * (n - 1))
    result = kernel_inception_distance(x, x, subsets=1, subset_size=n)
    assert result["mean"] == pytest.approx(2.0 / n * (mean_off - mean_diag), rel=1e-9)
    assert -0.1 * mean_diag < result["mean"] < 0
    theirs = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(x), kid_subsets=1, kid_subset_size=n,
                                    kid_degree=3, kid_gamma=None, kid_coef0=1, rng_seed=0, verbose=False)
    assert result["mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9)  # not our bug


def test_linear_kernel_is_the_squared_distance_of_means_minus_the_within_variances() -> None:
    """degree 1, γ = 1, c = 0: k(x, y) = xᵀy, and MMD²_u = ‖x̄ − ȳ‖² − tr Σₓ/m − tr Σᵧ/n exactly
    (unbiased covariances): the unbiased estimate of ‖μₓ − μᵧ‖²."""
    x, y = _features(40, 5, seed=10), _features(30, 5, seed=11, shift=0.5)
    expected = np.sum((x.mean(0) - y.mean(0)) ** 2) - np.trace(np.cov(x.T)) / 40 - np.trace(np.cov(y.T)) / 30
    result = float(unbiased_mmd2(torch.from_numpy(x), torch.from_numpy(y), degree=1, gamma=1.0, coef0=0.0))
    assert result == pytest.approx(expected, rel=1e-10)


def test_far_apart_sets_give_a_large_positive_kid() -> None:
    real, fake = _features(200, 16, seed=12), _features(200, 16, seed=13, shift=5.0)
    far = kernel_inception_distance(real, fake, subsets=10, subset_size=100)
    same = kernel_inception_distance(real, real[::-1].copy(), subsets=10, subset_size=100)
    assert far["mean"] > 10 * far["std"] > 0
    assert far["mean"] > 1000 * abs(same["mean"])


def test_unbiased_at_small_n_while_fid_is_biased() -> None:
    """300 independent pairs of 40-sample sets from one distribution: KID averages to 0 within
    4 standard errors; FID from the same features averages far above 0 (its bias at small n)."""
    rng = np.random.default_rng(14)
    dim, n, repeats = 8, 40, 300
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    kids, fids = [], []
    for _ in range(repeats):
        real, fake = rng.normal(size=(n, dim)) @ mixing, rng.normal(size=(n, dim)) @ mixing
        kids.append(kernel_inception_distance(real, fake, subsets=1, subset_size=n)["mean"])
        fids.append(frechet_distance(*feature_statistics(real), *feature_statistics(fake)))
    kid_se, fid_se = np.std(kids) / np.sqrt(repeats), np.std(fids) / np.sqrt(repeats)
    assert abs(np.mean(kids)) < 4 * kid_se
    assert np.mean(fids) > 20 * fid_se


# --- sample counts, subsets, determinism -----------------------------------------------------------

def test_record_has_every_count_and_setting() -> None:
    result = kernel_inception_distance(_features(30, 4, seed=15), _features(20, 4, seed=16), subsets=3,
                                       subset_size=1000)
    assert set(result) == KEYS
    assert (result["n_real"], result["n_fake"], result["subsets"]) == (30, 20, 3)
    assert result["subset_size"] == 20  # capped at the smaller set
    assert (result["degree"], result["gamma"], result["coef0"], result["seed"]) == (3, 0.25, 1.0, 0)


def test_same_seed_same_numbers_other_seed_other_subsets() -> None:
    real, fake = _features(100, 8, seed=17), _features(100, 8, seed=18, shift=0.2)
    first = kernel_inception_distance(real, fake, subsets=5, subset_size=50, seed=3)
    assert kernel_inception_distance(real, fake, subsets=5, subset_size=50, seed=3) == first
    assert kernel_inception_distance(real, fake, subsets=5, subset_size=50, seed=4)["mean"] != first["mean"]
    generator = torch.Generator().manual_seed(3)
    with_generator = kernel_inception_distance(real, fake, subsets=5, subset_size=50, generator=generator)
    assert with_generator == {**first, "seed": None}


def test_draws_do_not_touch_the_global_random_state() -> None:
    before = torch.get_rng_state()
    kernel_inception_distance(_features(50, 4, seed=19), _features(50, 4, seed=20), subsets=3, subset_size=10)
    assert torch.equal(torch.get_rng_state(), before)


def test_numpy_torch_and_float32_inputs_give_the_same_subsets() -> None:
    real, fake = _features(80, 8, seed=21).astype(np.float32), _features(70, 8, seed=22).astype(np.float32)
    from_numpy = kernel_inception_distance(real, fake, subsets=4, subset_size=30)
    from_torch = kernel_inception_distance(torch.from_numpy(real), torch.from_numpy(fake), subsets=4, subset_size=30)
    from_double = kernel_inception_distance(real.astype(np.float64), fake.astype(np.float64), subsets=4, subset_size=30)
    assert from_numpy == from_torch == from_double


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_chunked_kernel_sums_equal_one_block(chunk_size: int) -> None:
    real, fake = _features(90, 16, seed=23), _features(80, 16, seed=24, shift=0.1)
    whole = kernel_inception_distance(real, fake, subsets=3, subset_size=80)
    chunked = kernel_inception_distance(real, fake, subsets=3, subset_size=80, chunk_size=chunk_size)
    assert chunked["mean"] == pytest.approx(whole["mean"], rel=1e-10)
    assert chunked["std"] == pytest.approx(whole["std"], rel=1e-8)


# --- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "real, fake, match",
    [
        (np.zeros((1, 4)), np.zeros((5, 4)), "at least 2 real samples, got 1"),
        (np.zeros((5, 4)), np.zeros((1, 4)), "at least 2 fake samples, got 1"),
        (np.zeros((5, 4)), np.zeros((5, 3)), r"different widths \(4 vs 3\)"),
        (np.zeros(5), np.zeros((5, 1)), r"real features must be shaped \[N, D\]"),
        (np.full((5, 4), np.nan), np.zeros((5, 4)), "real features contain NaN"),
        (np.zeros((5, 0)), np.zeros((5, 0)), "width 0"),
    ],
)
def test_bad_features_are_one_line_errors(real, fake, match: str) -> None:
    with pytest.raises(SnganError, match=match) as error:
        kernel_inception_distance(real, fake)
    assert "\n" not in str(error.value) and str(error.value).startswith("KID: ")


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"subsets": 0}, "subsets must be"),
        ({"subset_size": 1}, "subset_size must be"),
        ({"degree": 0}, "degree"),
        ({"gamma": -1.0}, "gamma"),
        ({"coef0": float("nan")}, "coef0"),
        ({"seed": 1.5}, "seed"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_settings_are_one_line_errors(settings: dict, match: str) -> None:
    with pytest.raises(SnganError, match=match):
        kernel_inception_distance(np.zeros((5, 4)), np.zeros((5, 4)), **settings)


def test_no_warnings_from_small_sets() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel_inception_distance(_features(3, 64, seed=27), _features(2, 64, seed=28))
