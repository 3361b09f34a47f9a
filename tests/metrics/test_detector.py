"""The detector interface: input checks, batching, precision settings restored."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from sngan_cli.metrics.detector import Detector, exact_float32


class _MeanColour(nn.Module):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = images.float().mean(dim=(2, 3))
        return features, features[:, :2]


def _detector(batch_size: int = 4) -> Detector:
    return Detector(
        _MeanColour(), name="mean-colour", weights_sha256="0" * 64, feature_dim=3, num_classes=2, batch_size=batch_size
    )


def test_rejects_images_that_are_not_uint8_rgb() -> None:
    with pytest.raises(ValueError, match="uint8"):
        _detector().features_and_logits(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="uint8"):
        _detector().features_and_logits(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))


def test_batches_and_concatenates_in_order() -> None:
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 2, 2)
    features, logits = _detector(batch_size=3).features_and_logits(images)
    assert features.dtype == logits.dtype == torch.float32
    torch.testing.assert_close(features[:, 0], torch.arange(10, dtype=torch.float32))
    assert logits.shape == (10, 2)


def test_empty_input_gives_empty_outputs() -> None:
    features, logits = _detector().features_and_logits(torch.zeros(0, 3, 4, 4, dtype=torch.uint8))
    assert features.shape == (0, 3) and logits.shape == (0, 2)


def test_exact_float32_restores_the_callers_settings() -> None:
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        with exact_float32():
            assert torch.get_float32_matmul_precision() == "highest"
            assert not torch.backends.cudnn.allow_tf32
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision(before)
