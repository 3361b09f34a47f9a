"""The check of cached real features against their statistics (metrics/real_features.py): its
tolerance passes features computed by coarser arithmetic and refuses features of other images."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from sngan_cli.data import load_dataset
from sngan_cli.metrics.evaluate import compute_features
from sngan_cli.metrics.frechet import feature_statistics
from sngan_cli.metrics.real_features import TOLERANCE, mismatch, moment_offsets
from sngan_cli.metrics.reference import real_batches, subset
from tests.conftest import TINY, compose_train


@pytest.fixture(scope="module")
def digits_features(digits_detector):
    """The digits' features in float32, and again in bfloat16 (coarser than a GPU's TF32)."""
    dataset = OmegaConf.to_container(compose_train(TINY).dataset)
    data = load_dataset("digits", dataset["root"], dataset["resolution"], False)
    indices = subset(len(data), None)
    exact = compute_features(digits_detector, lambda: real_batches(data, indices))[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        coarse = compute_features(digits_detector, lambda: real_batches(data, indices))[0]
    return exact, np.asarray(coarse, np.float32)


def test_features_and_their_own_statistics_agree_to_rounding(digits_features):
    exact, _ = digits_features
    assert max(moment_offsets(exact, *feature_statistics(exact))) < 1e-12


def test_features_of_coarser_arithmetic_are_within_the_tolerance(digits_features):
    exact, coarse = digits_features
    offsets = moment_offsets(coarse, *feature_statistics(exact))
    assert 1e-5 < max(offsets) < TOLERANCE, offsets  # really other numbers, yet within
    assert mismatch(coarse, *feature_statistics(exact)) is None


def test_features_of_other_images_are_beyond_the_tolerance(digits_features):
    exact, _ = digits_features
    half = len(exact) // 2
    assert min(moment_offsets(exact[:half], *feature_statistics(exact[half:]))) > 3 * TOLERANCE
    assert "the tolerance is 0.01" in mismatch(exact[:half], *feature_statistics(exact[half:]))
