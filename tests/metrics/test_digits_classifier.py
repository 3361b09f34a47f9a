"""The offline `digits-classifier` detector: accurate, deterministic, cached."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sngan_cli.metrics import build_detector, digits_classifier
from sngan_cli.metrics.cache import file_sha256
from sngan_cli.metrics.detector import Detector
from sngan_cli.data.digits import render_digits
from sngan_cli.metrics.digits_classifier import (
    cached_weights_path,
    load_digits_split,
    train_digits_classifier,
)


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_holdout_accuracy(digits_detector: Detector, resolution: int) -> None:
    images, labels = load_digits_split("holdout")
    features, logits = digits_detector.features_and_logits(render_digits(images, resolution))
    assert features.shape == (len(labels), digits_classifier.FEATURE_DIM)
    accuracy = (logits.argmax(dim=1).numpy() == labels).mean()
    assert accuracy >= 0.9


def test_splits_are_fixed_and_partition_the_digits() -> None:
    (train, train_labels), (holdout, holdout_labels) = load_digits_split("train"), load_digits_split("holdout")
    assert len(train) + len(holdout) == 1797
    assert len(holdout) == round(0.2 * 1797)
    assert set(train_labels) == set(holdout_labels) == set(range(10))
    np.testing.assert_array_equal(load_digits_split("holdout")[0], holdout)


def test_cache_is_reused(digits_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*_, **__):
        raise AssertionError("the cached weights should have been used")

    monkeypatch.setattr(digits_classifier, "train_digits_classifier", no_training)
    detector = build_detector("digits-classifier", cache_dir=digits_cache)
    path = cached_weights_path(digits_cache)
    assert detector.name == "digits-classifier"
    assert detector.weights_sha256 == file_sha256(path)
    assert path.name.endswith(f"-{digits_classifier.VERSION}.pt")
    assert [p.name for p in digits_cache.iterdir()] == [path.name]  # no temporary files left


def test_explicit_weights_path_is_used(digits_cache: Path, tmp_path: Path) -> None:
    detector = build_detector("digits-classifier", weights_path=cached_weights_path(digits_cache), cache_dir=tmp_path)
    assert detector.weights_sha256 == file_sha256(cached_weights_path(digits_cache))
    assert not any(tmp_path.iterdir())


def test_training_is_deterministic_and_leaves_the_global_state_alone(digits_cache: Path) -> None:
    cached = torch.load(cached_weights_path(digits_cache), weights_only=True)
    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    retrained = train_digits_classifier().state_dict()
    assert torch.equal(torch.random.get_rng_state(), rng) and torch.get_num_threads() == threads
    assert cached.keys() == retrained.keys()
    assert all(torch.equal(cached[k], retrained[k]) for k in cached)
