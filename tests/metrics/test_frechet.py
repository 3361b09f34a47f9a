"""FID arithmetic: analytic cases (closed-form distances) and agreement with pytorch-fid."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from pytorch_fid.fid_score import calculate_frechet_distance

from sngan_cli.metrics import frechet
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance


def _random_features(n: int, dim: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return rng.normal(size=(n, dim)) @ mixing + shift


@pytest.mark.slow  # sqrtm of a 2048 x 2048 matrix: seconds on two CPU cores
def test_identity_covariances_unit_mean_shift_in_2048_dims() -> None:
    dim = 2048
    fid = frechet_distance(np.zeros(dim), np.eye(dim), np.ones(dim), np.eye(dim))
    assert fid == pytest.approx(2048.0, rel=1e-6)


def test_identical_statistics_give_zero() -> None:
    mu, sigma = feature_statistics(_random_features(500, 64, seed=0))
    assert 0 <= frechet_distance(mu, sigma, mu, sigma) < 1e-8 * np.trace(sigma)


def test_a_set_against_itself_is_never_negative() -> None:
    """Rounding makes the raw sum slightly negative for many such sets; the distance is clamped at 0."""
    for seed in range(20):
        mu, sigma = feature_statistics(_random_features(40, 64, seed=seed))  # singular: 40 samples, 64 dims
        assert frechet_distance(mu, sigma, mu, sigma) >= 0.0


def test_diagonal_covariances_closed_form() -> None:
    rng = np.random.default_rng(1)
    dim = 256
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    a, b = rng.uniform(0.1, 3.0, size=dim), rng.uniform(0.1, 3.0, size=dim)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("n", [400, 40])  # full-rank and singular covariances
def test_agrees_with_pytorch_fid_given_the_same_features(n: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats1 = feature_statistics(_random_features(n, 128, seed=2))
        stats2 = feature_statistics(_random_features(n, 128, seed=3, shift=0.3))
        theirs = calculate_frechet_distance(*stats1, *stats2)
    assert frechet_distance(*stats1, *stats2) == pytest.approx(theirs, rel=1e-6)


def test_statistics_are_float64_with_unbiased_covariance() -> None:
    features = _random_features(50, 8, seed=4).astype(np.float32)
    mu, sigma = feature_statistics(features)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(features.astype(np.float64), rowvar=False, ddof=1))
    np.testing.assert_allclose(mu, features.astype(np.float64).mean(axis=0))


def test_warns_when_fewer_samples_than_dimensions() -> None:
    with pytest.warns(UserWarning, match="singular"):
        feature_statistics(_random_features(10, 32, seed=5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feature_statistics(_random_features(32, 32, seed=5))


def test_large_imaginary_component_is_an_error() -> None:
    not_a_covariance = np.diag([-1.0, 1.0])
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), not_a_covariance, np.zeros(2), np.eye(2))


def test_non_finite_statistics_are_an_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2))


def test_non_finite_root_is_retried_with_an_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sqrtm = frechet._sqrtm
    calls: list[np.ndarray] = []

    def first_call_fails(matrix: np.ndarray) -> np.ndarray:
        calls.append(matrix)
        return np.full_like(matrix, np.inf) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(frechet, "_sqrtm", first_call_fails)
    with pytest.warns(UserWarning, match="retrying"):
        fid = frechet_distance(np.zeros(3), np.eye(3), np.ones(3), np.eye(3))
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (1 + frechet.SINGULAR_OFFSET) ** 2 * np.eye(3))
    # the offset enters the root only, as in pytorch-fid: 3 + 3 + 3 - 2 * 3 * (1 + 1e-6)
    assert fid == pytest.approx(3.0 - 6 * frechet.SINGULAR_OFFSET, rel=1e-9)


def test_mismatched_shapes_are_an_error() -> None:
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
