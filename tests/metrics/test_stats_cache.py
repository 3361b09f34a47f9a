"""Cached real-data statistics: keys, atomic writes, round trips, and user-supplied files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytorch_fid.fid_score import compute_statistics_of_path

from sngan_cli import SnganError
from sngan_cli.metrics import stats_cache
from sngan_cli.metrics.frechet import feature_statistics
from sngan_cli.metrics.stats_cache import (
    ReferenceStats,
    cached_reference_stats,
    features_path,
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


# The real features cached beside the statistics (real_features.py): checked against them.

def _features(n: int = 200, dim: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim)) + 3.0).astype(np.float32)


def _computing(features: np.ndarray):
    return lambda: ReferenceStats(*feature_statistics(features), {"n_samples": len(features)}, features)


def _cache_both(tmp_path: Path, features: np.ndarray) -> tuple[Path, Path]:
    cached_reference_stats(RECORD, _computing(features), cache_dir=tmp_path, with_features=True)
    return stats_path(RECORD, tmp_path), features_path(RECORD, tmp_path)


def _digests(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


def test_the_cached_features_come_back_with_their_statistics(tmp_path: Path) -> None:
    features = _features()
    _cache_both(tmp_path, features)
    again = cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True)
    np.testing.assert_array_equal(again.features, features)
    assert again.features.dtype == np.float32


@pytest.mark.parametrize("replace", [
    lambda f: np.random.default_rng(1).normal(size=f.shape).astype(np.float32),  # random, of the same shape
    lambda f: (f - f.mean(0)) * 1.5 + f.mean(0),  # the same mean, another spread
    lambda f: _features(len(f), f.shape[1], seed=5),  # features of other images, drawn alike
], ids=["random", "spread", "other-images"])
def test_features_that_do_not_match_their_statistics_are_refused(tmp_path: Path, replace) -> None:
    stats_file, feature_file = _cache_both(tmp_path, _features())
    np.save(feature_file, replace(np.load(feature_file)))
    before = _digests(stats_file, feature_file)
    with pytest.raises(SnganError, match=f"cached real features {feature_file} do not match the statistics "
                                         f"{stats_file} .*delete both to recompute them") as refused:
        cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True)
    assert "\n" not in str(refused.value)
    assert _digests(stats_file, feature_file) == before


def test_features_computed_elsewhere_within_the_tolerance_are_used(tmp_path: Path) -> None:
    """Another device's arithmetic (a relative error of 1e-5 per value) is no reason to refuse."""
    features = _features()
    stats_file, feature_file = _cache_both(tmp_path, features)
    noise = np.random.default_rng(2).normal(size=features.shape)
    np.save(feature_file, (features * (1 + 1e-5 * noise)).astype(np.float32))
    assert cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True).features is not None


@pytest.mark.parametrize("values", [
    np.full((200, 6), "x"),  # str
    np.zeros((200, 6), dtype=[("a", "f4")]),  # structured
    np.zeros((200, 6), dtype=np.int64),
    np.zeros((200, 6), dtype=object),  # pickled: never loaded
], ids=["str", "structured", "integer", "object"])
def test_features_that_are_not_floats_are_refused_in_one_line(tmp_path: Path, values: np.ndarray) -> None:
    stats_file, feature_file = _cache_both(tmp_path, _features())
    np.save(feature_file, values, allow_pickle=True)
    before = _digests(stats_file, feature_file)
    with pytest.raises(SnganError, match=f"cached real features {feature_file}.*delete it to recompute them") as e:
        cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True)
    assert "\n" not in str(e.value)
    assert _digests(stats_file, feature_file) == before


def _without_record(stats_file: Path, shift: float = 0.0) -> None:
    with np.load(stats_file) as f:
        mu, sigma = f["mu"], f["sigma"]
    np.savez(stats_file, mu=mu + shift, sigma=sigma)  # as pytorch-fid writes them


def test_statistics_without_a_record_serve_features_that_match_them(tmp_path: Path) -> None:
    features = _features()
    stats_file, _ = _cache_both(tmp_path, features)
    _without_record(stats_file)
    again = cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True)
    np.testing.assert_array_equal(again.features, features)


def test_statistics_without_a_record_of_other_features_are_named_and_the_advice_works(tmp_path: Path) -> None:
    features = _features()
    stats_file, feature_file = _cache_both(tmp_path, features)
    _without_record(stats_file, shift=1.0)
    with pytest.raises(SnganError, match="without sngan's record.*delete both to recompute them") as refused:
        cached_reference_stats(RECORD, _fail, cache_dir=tmp_path, with_features=True)
    assert str(stats_file) in str(refused.value) and str(feature_file) in str(refused.value)
    stats_file.unlink()
    feature_file.unlink()  # as the message says
    again = cached_reference_stats(RECORD, _computing(features), cache_dir=tmp_path, with_features=True)
    np.testing.assert_array_equal(again.features, features)
    assert again.record["n_samples"] == len(features)


def test_features_computed_again_are_checked_against_the_cached_statistics(tmp_path: Path) -> None:
    stats_file, feature_file = _cache_both(tmp_path, _features(seed=3))  # statistics of other images
    feature_file.unlink()
    before = _digests(stats_file)
    with pytest.raises(SnganError, match=f"cached statistics {stats_file} are not those of the real images.*"
                                         f"delete it to recompute it"):
        cached_reference_stats(RECORD, _computing(_features()), cache_dir=tmp_path, with_features=True)
    assert _digests(stats_file) == before and not feature_file.exists()
    stats_file.unlink()  # as the message says
    again = cached_reference_stats(RECORD, _computing(_features()), cache_dir=tmp_path, with_features=True)
    np.testing.assert_array_equal(again.features, _features())
