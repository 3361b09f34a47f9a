"""Inception Score arithmetic: analytic cases (identical rows, equally used one-hot classes) and
agreement with torch-fidelity."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from torch_fidelity.metric_isc import isc_features_to_metric

from sngan_cli.metrics.inception_score import inception_score


def test_identical_rows_score_one() -> None:
    probs = np.tile(softmax(np.random.default_rng(0).normal(size=1008)), (100, 1))
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 7, 10])
def test_k_equally_used_one_hot_classes_score_k(k: int) -> None:
    probs = np.tile(np.eye(k, 1008), (10, 1))  # every split sees each class once
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_agrees_with_torch_fidelity() -> None:
    logits = np.random.default_rng(1).normal(scale=3.0, size=(250, 1008))
    ours = inception_score(softmax(logits, axis=1), splits=10)
    theirs = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=False)
    assert ours[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-10)
    assert ours[1] == pytest.approx(theirs["inception_score_std"], rel=1e-8)


def test_splits_are_consecutive_and_std_is_over_splits() -> None:
    # first half: two classes used equally (score 2); second half: one class (score 1)
    probs = np.concatenate([np.tile(np.eye(2, 5), (5, 1)), np.tile(np.eye(1, 5), (10, 1))])
    mean, std = inception_score(probs, splits=2)
    assert mean == pytest.approx(1.5)
    assert std == pytest.approx(0.5)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=4, max_value=40),
    classes=st.integers(min_value=2, max_value=12),
    splits=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_score_lies_between_one_and_the_number_of_classes(n: int, classes: int, splits: int, seed: int) -> None:
    probs = softmax(np.random.default_rng(seed).normal(scale=4.0, size=(n, classes)), axis=1)
    mean, std = inception_score(probs, splits=splits)
    assert 1.0 - 1e-9 <= mean <= classes + 1e-9
    assert std >= 0.0


def test_fewer_samples_than_splits_is_an_error() -> None:
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.full((5, 3), 1 / 3), splits=10)
