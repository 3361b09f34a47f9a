"""Shared fixtures for the metric tests: offline stand-ins for the real detector weights.

The real Inception weights cannot be downloaded here, so the peer cross-checks use a weights file
in the exact pt_inception layout with random weights whose batch-norm statistics are calibrated
on images like the tests' own, so the features are finite and spread out.
"""
from __future__ import annotations

from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sngan_cli.metrics import build_detector, compute_features
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.tf_inception import TFInception

def _make_images(n: int, seed: int, size: int = 32, noise: float = 0.0) -> torch.Tensor:
    """uint8 RGB [n, 3, size, size]: smooth random colour fields, optionally with pixel noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g) * 255
    x = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    x = x + noise * torch.randn(n, 3, size, size, generator=g)
    return x.round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="session")
def inception_layout_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cheap file in the pt_inception layout (default random init), for the weights-handling tests."""
    path = tmp_path_factory.mktemp("weights") / "uncalibrated-inception.pth"
    torch.save(TFInception().state_dict(), path)
    return path


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weights file in the pt_inception-2015-12-05 state-dict layout, calibrated so that
    features and logits are spread out."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = TFInception()
        with torch.no_grad():
            # Logits large enough that the Inception Score is well above 1 and tests something.
            net.fc.weight.normal_(0.0, 0.2)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    calibration = torch.cat([_make_images(4, 100), _make_images(4, 101, noise=30.0)])
    net.train()
    with torch.no_grad():
        net(calibration)
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def inception_detector(inception_weights: Path) -> Detector:
    return build_detector("inception", weights_path=inception_weights, batch_size=16)


@pytest.fixture(scope="session")
def inception_images() -> tuple[torch.Tensor, torch.Tensor]:
    """(generated, real) stand-ins: 16 images each from two different distributions."""
    return _make_images(16, seed=1), _make_images(16, seed=2, noise=30.0)


@pytest.fixture(scope="session")
def inception_real_outputs(inception_detector: Detector, inception_images) -> tuple[np.ndarray, np.ndarray]:
    """(features, logits) of the `real` stand-ins, computed in one batch of 16."""
    return compute_features(inception_detector, [inception_images[1]])


@pytest.fixture(scope="session")
def digits_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the trained digits classifier (trained once per session)."""
    cache_dir = tmp_path_factory.mktemp("sngan-cache")
    build_detector("digits-classifier", cache_dir=cache_dir)
    return cache_dir


@pytest.fixture(scope="session")
def digits_detector(digits_cache: Path) -> Detector:
    return build_detector("digits-classifier", cache_dir=digits_cache)
