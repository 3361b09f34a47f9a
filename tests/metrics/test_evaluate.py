"""Scoring: feature accumulation, the one result and its record, presets, registry."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
import pytest
import torch

from sngan_cli import SnganError, __version__
from sngan_cli.metrics import (
    PROTOCOLS,
    ReferenceStats,
    Protocol,
    build_detector,
    compute_features,
    detector_name,
    get_protocol,
    reference_statistics,
    scalars,
    score,
)
from sngan_cli.metrics.detector import Detector
from sngan_cli.data.digits import render_digits
from sngan_cli.metrics.digits_classifier import load_digits_split
from sngan_cli.metrics.stats_cache import reference_record


@pytest.fixture(scope="module")
def digit_images() -> torch.Tensor:
    return render_digits(load_digits_split("holdout")[0], 32)


def protocol(splits: int = 10, n_fid: Optional[int] = None) -> Protocol:
    """A protocol of ``splits`` IS splits whose FID uses the first ``n_fid`` images (all when None)."""
    return replace(get_protocol("standard"), name="test", is_splits=splits, n_generated_fid=n_fid or 10**9)


def test_compute_features_takes_the_first_n_samples_across_batches(
    digits_detector: Detector, digit_images: torch.Tensor
) -> None:
    all_features, all_logits = digits_detector.features_and_logits(digit_images[:50])
    batches = list(digit_images[:60].split([7, 13, 40]))
    features, logits = compute_features(digits_detector, batches, n_samples=50)
    assert features.shape == (50, 64) and logits.shape == (50, 10)
    np.testing.assert_allclose(features, all_features.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, all_logits.numpy(), rtol=1e-5, atol=1e-5)


def test_compute_features_accepts_a_callable_and_reads_everything_without_n(
    digits_detector: Detector, digit_images: torch.Tensor
) -> None:
    def batches():
        yield digit_images[:10]
        yield digit_images[10:25]

    features, _ = compute_features(digits_detector, batches)
    assert features.shape == (25, 64)


def test_too_few_images_is_an_error(digits_detector: Detector, digit_images: torch.Tensor) -> None:
    with pytest.raises(SnganError, match="only 20 images"):
        compute_features(digits_detector, [digit_images[:20]], n_samples=30)


def test_score_returns_the_contract_keys_and_the_record(digits_detector: Detector, digit_images: torch.Tensor) -> None:
    record = reference_record(dataset="digits", split="holdout", resolution=32, n_samples=300, detector=digits_detector)
    mu, sigma = reference_statistics(digits_detector, [digit_images], n_samples=300)
    reference = ReferenceStats(mu, sigma, record)

    result = score(digits_detector, [digit_images[:300]], reference, protocol(5), 300, step=7, seed=3)
    assert set(result) == {"inception_score_mean", "inception_score_std", "fid", "step", "record"}
    assert 1.0 < result["inception_score_mean"] <= 10.0
    assert abs(result["fid"]) < 1e-6 * np.trace(sigma)  # the same images as the reference
    assert result["step"] == 7
    assert result["record"] == {
        "metrics": ["is", "fid"],
        "protocol": "test",
        "n_generated": 300,
        "n_generated_is": 300,
        "n_generated_fid": 300,
        "splits": 5,
        "n_real": 300,
        "reference": "digits/holdout",
        "reference_file": None,
        "detector": "digits-classifier",
        "weights_sha256": digits_detector.weights_sha256,
        "code_version": __version__,
        "seed": 3,
    }
    assert scalars(result) == {"metrics/IS": result["inception_score_mean"], "metrics/FID": result["fid"]}

    shifted = score(digits_detector, [digit_images[-300:].flip(-1)], reference, protocol(5), 300)
    assert shifted["fid"] > 1.0


def test_fid_takes_the_first_n_fid_of_the_images_the_score_uses(digits_detector: Detector,
                                                                  digit_images: torch.Tensor) -> None:
    """The paper protocol's FID uses 5,000 of the 50,000 images the IS is computed on."""
    record = reference_record(dataset="digits", split="holdout", resolution=32, n_samples=150, detector=digits_detector)
    reference = ReferenceStats(*reference_statistics(digits_detector, [digit_images], n_samples=150), record)
    mixed = torch.cat([digit_images[:150], digit_images[150:300].flip(-1)])
    both = score(digits_detector, [mixed], reference, protocol(3, n_fid=150), 300)
    assert abs(both["fid"]) < 1e-6 * np.trace(reference.sigma)  # the first 150: the reference's own images
    assert score(digits_detector, [mixed], reference, protocol(3), 300)["fid"] > 1.0
    assert (both["record"]["n_generated_is"], both["record"]["n_generated_fid"]) == (300, 150)
    without_fid = score(digits_detector, [mixed], None, protocol(3), 300)
    assert both["inception_score_mean"] == without_fid["inception_score_mean"]


def test_score_without_reference_has_no_fid(digits_detector: Detector, digit_images: torch.Tensor) -> None:
    result = score(digits_detector, [digit_images], None, protocol(10), 100)
    assert result["fid"] is None and result["record"]["reference"] is None and result["record"]["n_real"] is None
    assert scalars(result) == {"metrics/IS": result["inception_score_mean"]}


def test_too_few_images_for_the_splits_is_refused(digits_detector: Detector, digit_images: torch.Tensor) -> None:
    with pytest.raises(SnganError, match="9 images are too few.*at least 10"):
        score(digits_detector, [digit_images], None, protocol(10), 9)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"detector": "inception"}, "detector=inception"),
        ({"detector_weights_sha256": "f" * 64}, "detector_weights_sha256="),
    ],
)
def test_score_refuses_statistics_of_another_detector(
    digits_detector: Detector, digit_images: torch.Tensor, change: dict, message: str
) -> None:
    reference = ReferenceStats(np.zeros(64), np.eye(64), {"detector": digits_detector.name, **change})
    with pytest.raises(SnganError, match=message):
        score(digits_detector, [digit_images], reference, protocol(), 100)


def test_score_refuses_statistics_of_another_dimension(digits_detector: Detector, digit_images: torch.Tensor) -> None:
    with pytest.raises(SnganError, match="2048-d"):
        score(digits_detector, [digit_images], ReferenceStats(np.zeros(2048), np.eye(2048)), protocol(), 100)


def test_protocol_presets_follow_the_paper_and_the_common_practice() -> None:
    paper, standard = get_protocol("paper"), get_protocol("standard")
    # IS: 10 splits of 5,000 (the authors' evaluation code, n = 5000 * splits); FID: the first 5,000
    # generated against 10,000 real (Appendix B.1)
    assert (paper.n_generated, paper.is_splits, paper.is_split_size) == (50_000, 10, 5_000)
    assert (paper.n_generated_fid, paper.n_reference) == (5_000, 10_000)
    assert (standard.n_generated, standard.is_split_size, standard.n_generated_fid, standard.n_reference) == (
        50_000, 5_000, 50_000, None)
    assert paper.as_record()["name"] == "paper"
    assert set(PROTOCOLS) == {"paper", "standard"}
    with pytest.raises(SnganError, match="paper, standard"):
        get_protocol("papr")


def test_unknown_detector_lists_the_choices() -> None:
    with pytest.raises(SnganError, match="digits-classifier, inception"):
        build_detector("inceptoin")


def test_auto_picks_the_digits_classifier_for_digits_only() -> None:
    assert detector_name("auto", "digits") == "digits-classifier"
    assert detector_name("auto", "cifar10") == detector_name("auto", "/some/folder") == "inception"
    assert detector_name("inception", "digits") == "inception"


def test_inception_weights_go_to_the_inception_only(digits_cache, monkeypatch: pytest.MonkeyPatch) -> None:
    from sngan_cli.metrics import registry

    seen = {}
    monkeypatch.setitem(registry.DETECTORS, "inception", lambda path, **_: seen.setdefault("inception", path))
    digits = build_detector("auto", dataset="digits", inception_weights="/nowhere.pth", cache_dir=digits_cache)
    assert digits.name == "digits-classifier"
    build_detector("auto", dataset="cifar10", inception_weights="/nowhere.pth")
    assert seen == {"inception": "/nowhere.pth"}
