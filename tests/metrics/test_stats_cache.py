"""Cached real-data statistics: keys, atomic writes, round trips, and user-supplied files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytorch_fid.fid_score import compute_statistics_of_path

from sngan_cli import SnganError
from sngan_cli.metrics import stats_cache
from sngan_cli.metrics.stats_cache import (
    ReferenceStats,
    cached_reference_stats,
    load_reference_stats,
    save_stats,
    stats_key,
    stats_path,
)

RECORD = {
    "dataset": "cifar10",
    "split": "train",
    "resolution": 32,
    "n_samples": 10000,
    "detector": "inception",
    "detector_weights_sha256": "6726825d" + "0" * 56,
}


def _stats(dim: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim))
    return rng.normal(size=dim), a @ a.T


def _fail(*_, **__):
    raise AssertionError("the cached statistics should have been used")


def test_round_trip_computes_once(tmp_path: Path) -> None:
    mu, sigma = _stats()
    key = {k: v for k, v in RECORD.items() if k != "n_samples"}  # known before the images are read
    first = cached_reference_stats(key, lambda: ReferenceStats(mu, sigma, {"n_samples": 10000}), cache_dir=tmp_path)
    second = cached_reference_stats(key, _fail, cache_dir=tmp_path)
    for stats in (first, second):
        np.testing.assert_array_equal(stats.mu, mu)
        np.testing.assert_array_equal(stats.sigma, sigma)
        assert stats.mu.dtype == stats.sigma.dtype == np.float64
        assert {k: stats.record[k] for k in RECORD} == RECORD  # the key and what computing learned
        assert stats.record["source"] == str(stats_path(key, tmp_path))


@pytest.mark.parametrize(
    "key, value",
    [
        ("dataset", "stl10"),
        ("split", "test"),
        ("resolution", 48),
        ("n_samples", 50000),
        ("detector", "digits-classifier"),
        ("detector_weights_sha256", "f" * 64),
        ("subset_seed", 1),
    ],
)
def test_key_changes_with_every_input(key: str, value: object) -> None:
    assert stats_key({**RECORD, key: value}) != stats_key(RECORD)


def test_key_does_not_depend_on_insertion_order() -> None:
    assert stats_key(dict(reversed(list(RECORD.items())))) == stats_key(RECORD)


class _Crash(Exception):
    pass


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_savez(file, **arrays) -> None:
        file.write(b"half an npz")
        raise _Crash("killed mid-write")

    monkeypatch.setattr(stats_cache.np, "savez", broken_savez)
    with pytest.raises(_Crash):
        cached_reference_stats(RECORD, lambda: ReferenceStats(*_stats()), cache_dir=tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_pytorch_fid_reads_the_cached_file(tmp_path: Path) -> None:
    mu, sigma = _stats()
    path = tmp_path / "stats.npz"
    save_stats(path, ReferenceStats(mu, sigma, RECORD))
    their_mu, their_sigma = compute_statistics_of_path(str(path), None, 1, 6, "cpu")
    np.testing.assert_array_equal(their_mu, mu)
    np.testing.assert_array_equal(their_sigma, sigma)


def test_loads_a_pytorch_fid_style_file(tmp_path: Path) -> None:
    mu, sigma = _stats()
    np.savez(tmp_path / "theirs.npz", mu=mu.astype(np.float32), sigma=sigma)
    stats = load_reference_stats(tmp_path / "theirs.npz", feature_dim=6)
    assert stats.mu.dtype == np.float64
    assert stats.record == {"source": str(tmp_path / "theirs.npz")}


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"mu": np.zeros(3)}, "lack \\['sigma'\\]"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, "mu must be \\[D\\]"),
        ({"mu": np.zeros((3, 1)), "sigma": np.eye(3)}, "mu must be \\[D\\]"),
        ({"mu": np.zeros(4), "sigma": np.eye(4)}, "4-d but the detector's features are 3-d"),
        ({"mu": np.array([0.0, np.nan, 0.0]), "sigma": np.eye(3)}, "NaN"),
    ],
)
def test_invalid_user_files_are_reported_clearly(tmp_path: Path, arrays: dict, message: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(SnganError, match=message):
        load_reference_stats(tmp_path / "bad.npz", feature_dim=3)


@pytest.mark.parametrize("content", [None, b"not an npz"])
def test_unreadable_user_files_are_reported_clearly(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "stats.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SnganError, match="cannot read reference statistics"):
        load_reference_stats(path)


@pytest.mark.parametrize("sigma, message", [(-np.eye(3), "negative eigenvalue"),
                                            (np.triu(np.ones((3, 3))), "not symmetric")])
def test_a_sigma_that_is_not_a_covariance_is_refused(tmp_path: Path, sigma: np.ndarray, message: str) -> None:
    path = tmp_path / "ref.npz"
    np.savez(path, mu=np.zeros(3), sigma=sigma)
    with pytest.raises(SnganError, match=f"{path}.*{message}"):
        load_reference_stats(path)
