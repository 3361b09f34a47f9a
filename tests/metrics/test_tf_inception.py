"""The TF Inception port: TF-1 resize, input scaling, the FID patches, layout and batch independence."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_fid import inception as pytorch_fid_inception
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.tf_inception import TFInception, preprocess, resize_bilinear_tf1


def test_resize_upsamples_a_ramp_without_half_pixel_offset() -> None:
    ramp = torch.tensor([[[[0.0, 10.0, 20.0, 30.0]]]])
    # output i samples the input at i * 4/8; the last sample (3.5) clamps to the last pixel
    expected = torch.tensor([0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 30.0])
    torch.testing.assert_close(resize_bilinear_tf1(ramp, (1, 8))[0, 0, 0], expected)


def test_resize_downsamples_a_ramp_without_half_pixel_offset() -> None:
    ramp = torch.arange(8, dtype=torch.float32).mul(10).view(1, 1, 1, 8)
    # samples at 0, 8/3, 16/3
    expected = torch.tensor([0.0, 80.0 / 3, 160.0 / 3])
    torch.testing.assert_close(resize_bilinear_tf1(ramp, (1, 3))[0, 0, 0], expected)


def test_resize_of_a_separable_ramp_in_both_axes() -> None:
    rows = torch.tensor([0.0, 1.0, 2.0]) * 100  # H: 3 -> 5, samples at i * 3/5
    cols = torch.tensor([0.0, 1.0, 2.0, 3.0])  # W: 4 -> 8, samples at i * 4/8
    image = (rows[:, None] + cols[None, :]).view(1, 1, 3, 4)
    expected_rows = torch.tensor([0.0, 0.6, 1.2, 1.8, 2.0]) * 100  # 2.4 clamps to 2
    expected_cols = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0])
    expected = expected_rows[:, None] + expected_cols[None, :]
    torch.testing.assert_close(resize_bilinear_tf1(image, (5, 8))[0, 0], expected)


@pytest.mark.parametrize("size", [8, 32, 48, 299, 300])
def test_resize_matches_torch_fidelity_exactly(size: int) -> None:
    images = torch.randint(0, 256, (2, 3, size, size), generator=torch.Generator().manual_seed(size)).float()
    theirs = interpolate_bilinear_2d_like_tensorflow1x(images, size=(299, 299), align_corners=False)
    assert torch.equal(resize_bilinear_tf1(images, 299), theirs)


def test_input_scaling_maps_255_to_0_9921875() -> None:
    for value, expected in ((255, 0.9921875), (128, 0.0), (0, -1.0)):
        x = preprocess(torch.full((1, 3, 5, 7), value, dtype=torch.uint8))
        assert x.shape == (1, 3, 299, 299)
        assert torch.all(x == expected)


def _pytorch_fid_network() -> torch.nn.Module:
    """pytorch-fid's patched Inception, without its weight download."""
    net = pytorch_fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pytorch_fid_inception.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pytorch_fid_inception.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pytorch_fid_inception.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pytorch_fid_inception.FIDInceptionE_1(1280)
    net.Mixed_7c = pytorch_fid_inception.FIDInceptionE_2(2048)
    return net.eval()


@pytest.fixture(scope="module")
def networks() -> tuple[TFInception, torch.nn.Module]:
    theirs = _pytorch_fid_network()
    ours = TFInception().eval()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_state_dict_layout_is_pt_inception(networks: tuple[TFInception, torch.nn.Module]) -> None:
    ours, theirs = networks
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert all(ours_sd[k].shape == theirs_sd[k].shape for k in ours_sd)


@pytest.mark.parametrize(
    "block, channels", [("Mixed_5b", 192), ("Mixed_6b", 768), ("Mixed_7b", 1280), ("Mixed_7c", 2048)]
)
def test_blocks_carry_the_fid_pooling_patches(
    networks: tuple[TFInception, torch.nn.Module], block: str, channels: int
) -> None:
    ours, theirs = networks
    # Random batch-norm statistics so that every branch, the pool branch included, matters.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for bn in (m for m in getattr(theirs, block).modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.normal_()
        x = torch.randn(2, channels, 5, 5)
    getattr(ours, block).load_state_dict(getattr(theirs, block).state_dict())
    with torch.no_grad():
        torch.testing.assert_close(getattr(ours, block)(x), getattr(theirs, block)(x), rtol=0, atol=0)


@pytest.mark.slow
def test_features_do_not_depend_on_the_batch_size(
    inception_detector: Detector, inception_images, inception_real_outputs: tuple[np.ndarray, np.ndarray]
) -> None:
    images = inception_images[1][:8]
    # computed in one batch of 16
    reference, reference_logits = (torch.from_numpy(a[:8]) for a in inception_real_outputs)
    assert reference.shape == (8, 2048) and reference_logits.shape == (8, 1008)
    assert reference.std(dim=0).mean() > 1e-3  # calibrated: the features are spread out
    for batch_size in (1, 3, 8):
        features, logits = inception_detector.features_and_logits(images, batch_size=batch_size)
        torch.testing.assert_close(features, reference, rtol=1e-5, atol=1e-6)
        # a logit sums 2048 products: its rounding error scales with the logits' size, not its own
        torch.testing.assert_close(logits, reference_logits, rtol=1e-5, atol=1e-5 * reference_logits.abs().max().item())
