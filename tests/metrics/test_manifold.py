"""Precision/recall and density/coverage (sngan_cli/metrics/manifold.py): parity with
torch-fidelity 0.4.0's `prc` on the same features, the definitions computed naively, known answers
(including the quality/diversity separation), chunking and errors.

Tolerance of the parity: the metrics are counts of samples, so they must be the same counts.
torch-fidelity reports them as float32 means, so its value times n is compared after rounding.
On float64 features both sides compare float64 distances and no sample can flip; on float32
features (torch-fidelity's usual input) with dtype=torch.float32 the distances are float32 matmul
results whose last bits depend on the block shapes and orientation each side uses, so one sample
per set sitting within float32 rounding of a ball's boundary may flip: at most one is allowed.
torch-fidelity has no density/coverage; those are checked against the definitions of Naeem et al.
(2020) computed with full distance matrices in numpy.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from torch_fidelity.metric_prc import (
    calculate_precision_recall_full,
    calculate_precision_recall_part,
    prc_features_to_metric,
)

from sngan_cli import SnganError
from sngan_cli.metrics import manifold
from sngan_cli.metrics.manifold import ball_membership, density_coverage, knn_radii, precision_recall


def _features(n: int, dim: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return np.abs(scale * rng.normal(size=(n, dim)) @ mixing + shift)


def _clusters(modes, per_mode: int, seed: int, spread: float = 1.0, dim: int = 2) -> np.ndarray:
    """per_mode points around each of the chosen modes of 10 well-separated 2-D modes."""
    centers = np.random.default_rng(123).normal(size=(10, dim)) * 30
    rng = np.random.default_rng(seed)
    return np.concatenate([centers[m] + spread * rng.normal(size=(per_mode, dim)) for m in modes])


def _counts_of_theirs(theirs: tuple[float, float], n_fake: int, n_real: int) -> tuple[int, int]:
    precision, recall = theirs
    return round(precision * n_fake), round(recall * n_real)


def _counts_of_ours(ours: dict) -> tuple[int, int]:
    return round(ours["precision"] * ours["n_fake"]), round(ours["recall"] * ours["n_real"])


# --- parity with torch-fidelity -------------------------------------------------------------------

@pytest.mark.parametrize(
    "n_real, n_fake, dim, scale", [(400, 300, 32, 1.2), (250, 250, 2048, 1.02), (300, 500, 4, 1.2)]
)
def test_float64_features_give_torch_fidelitys_counts(n_real: int, n_fake: int, dim: int, scale: float) -> None:
    real = torch.from_numpy(_features(n_real, dim, seed=1))
    fake = torch.from_numpy(_features(n_fake, dim, seed=2, scale=scale))
    ours = _counts_of_ours(precision_recall(real, fake))
    # torch-fidelity's convention: features_1 is generated, features_2 real
    assert ours == _counts_of_theirs(calculate_precision_recall_full(fake, real), n_fake, n_real)
    assert ours == _counts_of_theirs(calculate_precision_recall_part(fake, real, 3, 100), n_fake, n_real)
    assert 0 < ours[0] < n_fake and 0 < ours[1] < n_real  # neither trivially 0 nor 1


@pytest.mark.parametrize("k", [1, 5, 10])
def test_other_neighbourhood_sizes_match_torch_fidelity(k: int) -> None:
    real, fake = torch.from_numpy(_features(300, 16, seed=3)), torch.from_numpy(_features(200, 16, seed=4, shift=0.2))
    theirs = prc_features_to_metric(fake, real, prc_neighborhood=k, prc_batch_size=10000, save_cpu_ram=False,
                                    verbose=False)
    ours = precision_recall(real, fake, k=k)
    assert _counts_of_ours(ours) == _counts_of_theirs((theirs["precision"], theirs["recall"]), 200, 300)


def test_float32_features_differ_from_torch_fidelity_by_at_most_one_sample() -> None:
    real = torch.from_numpy(_features(600, 256, seed=5, scale=3.0, shift=5.0)).float()
    fake = torch.from_numpy(_features(500, 256, seed=6, scale=3.3, shift=5.1)).float()
    theirs = _counts_of_theirs(calculate_precision_recall_full(fake, real), 500, 600)
    for dtype in (torch.float32, torch.float64):
        ours = _counts_of_ours(precision_recall(real, fake, dtype=dtype))
        assert abs(ours[0] - theirs[0]) <= 1 and abs(ours[1] - theirs[1]) <= 1


# --- the definitions, naively ---------------------------------------------------------------------

def _naive_radii(x: np.ndarray, k: int) -> np.ndarray:
    distances = np.sort(cdist(x, x), axis=1)
    return distances[:, k]  # column 0 is the point itself


def test_radius_is_the_kth_neighbour_leaving_the_point_itself_out() -> None:
    x = _features(97, 6, seed=7)
    for k in (1, 3, 5):
        np.testing.assert_allclose(knn_radii(torch.from_numpy(x), k).numpy(), _naive_radii(x, k), rtol=1e-12)


def test_duplicates_count_as_neighbours() -> None:
    x = np.array([[0.0], [0.0], [0.0], [5.0], [9.0]])
    # the first point's neighbours at distance 0, 0, 5, 9: its 2nd-nearest other point is at 0
    assert knn_radii(torch.from_numpy(x), 2)[0] == 0.0
    assert knn_radii(torch.from_numpy(x), 3)[0] == 5.0


@pytest.mark.parametrize("k", [2, 5])
def test_density_and_coverage_follow_naeem_et_al(k: int) -> None:
    real, fake = _features(300, 8, seed=8), _features(200, 8, seed=9, shift=0.15, scale=1.1)
    inside = cdist(fake, real) <= _naive_radii(real, k)[None, :]  # [fake, real]: Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))
    expected_density = inside.sum() / (k * len(fake))
    expected_coverage = inside.any(axis=0).mean()
    result = density_coverage(real, fake, k=k)
    assert result["density"] == pytest.approx(expected_density, rel=1e-12)
    assert result["coverage"] == pytest.approx(expected_coverage, rel=1e-12)
    assert 0 < result["coverage"] < 1


def test_ball_membership_counts_balls_and_marks_occupied_ones() -> None:
    centers = torch.tensor([[0.0], [10.0], [20.0]], dtype=torch.float64)
    radii = torch.tensor([1.0, 15.0, 0.5], dtype=torch.float64)
    points = torch.tensor([[0.5], [9.0], [100.0], [-1.0]], dtype=torch.float64)
    counts, occupied = ball_membership(points, centers, radii, chunk_size=2)
    assert counts.tolist() == [2, 1, 0, 2]  # -1.0 is on the first ball's boundary: closed balls
    assert occupied.tolist() == [True, True, False]


# --- known answers -------------------------------------------------------------------------------

def test_identical_sets_precision_recall_coverage_one_density_k_plus_one_over_k() -> None:
    """With no ties, each ball holds exactly its centre and the centre's k nearest neighbours (the
    k-th on its boundary, inside: distances are taken alike for radii and membership), so the
    balls hold N(k + 1) samples in all: density (k + 1)/k."""
    x = _features(400, 16, seed=10)
    assert precision_recall(x, x.copy()) == {"precision": 1.0, "recall": 1.0, "n_real": 400, "n_fake": 400, "k": 3}
    result = density_coverage(x, x.copy())
    assert result["coverage"] == 1.0
    assert result["density"] == pytest.approx(6 / 5, rel=1e-12)


def test_identical_integer_features_give_the_exact_density_on_any_chunking() -> None:
    """Integer features below 2^26: every squared distance is an exact float64 integer, so the
    k-th neighbour is exactly on its ball's boundary whatever the block shapes."""
    x = np.random.default_rng(11).integers(0, 10**6, size=(300, 8)).astype(np.float64)
    for chunk_size in (7, 100, 4096):
        assert density_coverage(x, x.copy(), k=5, chunk_size=chunk_size)["density"] == 6 / 5


def test_far_apart_sets_score_zero() -> None:
    real, fake = _features(200, 8, seed=12), _features(150, 8, seed=13, shift=100.0)
    assert precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0, "n_real": 200, "n_fake": 150, "k": 3}
    assert density_coverage(real, fake) == {"density": 0.0, "coverage": 0.0, "n_real": 200, "n_fake": 150, "k": 5}


def test_half_the_modes_keep_precision_and_halve_recall() -> None:
    """Quality vs diversity: fakes from only 5 of the 10 real modes are all good samples (precision
    and density near their values for a perfect generator) but cover half the real data (recall
    and coverage at most 1/2, since the other modes are far from any fake)."""
    real = _clusters(range(10), 100, seed=1)
    half = _clusters(range(5), 200, seed=2)
    everything = _clusters(range(10), 100, seed=3)
    pr_half, pr_all = precision_recall(real, half), precision_recall(real, everything)
    dc_half, dc_all = density_coverage(real, half), density_coverage(real, everything)
    assert pr_half["precision"] > 0.95 and pr_all["precision"] > 0.95
    assert 0.45 < pr_half["recall"] <= 0.5 < 0.95 < pr_all["recall"]
    assert 0.45 < dc_half["coverage"] <= 0.5 < 0.95 < dc_all["coverage"]
    assert 0.9 < dc_half["density"] < 1.1 and 0.9 < dc_all["density"] < 1.1


def test_blurry_samples_of_every_mode_lose_precision_but_keep_recall() -> None:
    """The other way round: fakes around every mode but three times too spread out."""
    result = precision_recall(_clusters(range(10), 100, seed=1), _clusters(range(10), 100, seed=4, spread=3.0))
    assert result["precision"] < 0.6 and result["recall"] > 0.98


# --- chunking, devices, inputs ---------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [1, 3, 16, 100])  # 1 and 3: fewer columns than k + 1 per block
def test_chunked_equals_one_block(chunk_size: int) -> None:
    real, fake = _features(100, 8, seed=14), _features(70, 8, seed=15, shift=0.1)
    assert precision_recall(real, fake, chunk_size=chunk_size) == precision_recall(real, fake, chunk_size=10**6)
    assert density_coverage(real, fake, chunk_size=chunk_size) == density_coverage(real, fake, chunk_size=10**6)


def test_no_distance_block_is_larger_than_chunk_size_squared(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = []
    real_cdist = torch.cdist

    def recording_cdist(x: torch.Tensor, y: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        shapes.append((x.shape[0], y.shape[0]))
        return real_cdist(x, y, *args, **kwargs)

    monkeypatch.setattr(manifold.torch, "cdist", recording_cdist)
    precision_recall(_features(130, 4, seed=16), _features(110, 4, seed=17), chunk_size=32)
    density_coverage(_features(130, 4, seed=16), _features(110, 4, seed=17), chunk_size=32)
    assert shapes and max(max(shape) for shape in shapes) == 32


def test_numpy_torch_and_float32_inputs_agree() -> None:
    real, fake = _features(120, 8, seed=18).astype(np.float32), _features(100, 8, seed=19).astype(np.float32)
    from_numpy = precision_recall(real, fake)
    assert precision_recall(torch.from_numpy(real), torch.from_numpy(fake)) == from_numpy
    assert precision_recall(real.astype(np.float64), fake.astype(np.float64)) == from_numpy


# --- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "function, real, fake, match",
    [
        (precision_recall, np.zeros((3, 4)), np.zeros((9, 4)), "at least 4 real samples for k = 3, got 3"),
        (precision_recall, np.zeros((9, 4)), np.zeros((3, 4)), "at least 4 fake samples for k = 3, got 3"),
        (density_coverage, np.zeros((5, 4)), np.zeros((9, 4)), "at least 6 real samples for k = 5, got 5"),
        (density_coverage, np.zeros((9, 4)), np.zeros((0, 4)), "at least 1 fake samples, got 0"),
        (precision_recall, np.zeros((9, 4)), np.zeros((9, 5)), r"different widths \(4 vs 5\)"),
        (density_coverage, np.zeros((9, 4)), np.full((9, 4), np.inf), "fake features contain NaN or infinite"),
    ],
)
def test_bad_features_are_one_line_errors(function, real, fake, match: str) -> None:
    with pytest.raises(SnganError, match=match) as error:
        function(real, fake)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "settings, match",
    [({"k": 0}, "k must be"), ({"k": True}, "k must be"), ({"chunk_size": 0}, "chunk_size"),
     ({"dtype": torch.float16}, "float32 or torch.float64")],
)
def test_bad_settings_are_one_line_errors(settings: dict, match: str) -> None:
    for function in (precision_recall, density_coverage):
        with pytest.raises(SnganError, match=match):
            function(np.zeros((9, 4)), np.zeros((9, 4)), **settings)


def test_density_and_coverage_need_only_one_fake_sample() -> None:
    """One fake sample equal to a real one: coverage is the share of the 10 balls holding it (its
    own at least) and density the same count over k·M = 5."""
    real = _features(10, 3, seed=22)
    result = density_coverage(real, real[:1])
    assert result["n_fake"] == 1 and result["coverage"] >= 0.1
    assert result["density"] == pytest.approx(result["coverage"] * 10 / 5, rel=1e-12)
