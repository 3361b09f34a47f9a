"""Every Table 2 / Table 7 preset builds the networks of the code that produced the paper's numbers
(docs/fidelity.md), pinned by parameter counts taken by hand from that code:

- standard CNN: chainer-gan-lib ``common/net.py``, ``DCGANGenerator(n_hidden=128, bottom_width=4 or
  6, ch=512)`` and ``SNDCGANDiscriminator`` / ``WGANDiscriminator(ch=512)``;
- ResNet: sngan_projection ``gen_models/resnet_32.py`` (ch=256) with ``gen_models/resblocks.py``,
  ``dis_models/snresnet_32.py`` (ch=128) with ``dis_models/resblocks.py``;
- Gulrajani et al.'s ResNet (Table 7, and the original width of B.2): improved_wgan_training
  ``gan_cifar_resnet.py`` (DIM_G = DIM_D = 128).

Counts are weights + biases (+ BN scale and shift in G); spectral norm's u, v are buffers, not
parameters. The arithmetic is written out next to each number.
"""
import math

import pytest
import torch
from torch import nn

from sngan_cli.models import build_pair
from sngan_cli.norms import build_normalizer
from tests.conftest import compose_train


def _conv(cin, cout, k):
    return cin * cout * k * k + cout


# chainer-gan-lib DCGANGenerator, bottom width b: l0 128 -> b*b*512 (+bias), bn0 over the b*b*512 dense
# units (gamma, beta), dc1-dc3 deconv 4x4 512->256->128->64 (+bias), bn1-bn3, dc4 3x3 64->3 (+bias)
def _chainer_g(b):
    units = b * b * 512
    return (128 * units + units) + 2 * units + _conv(512, 256, 4) + 2 * 256 + _conv(256, 128, 4) + 2 * 128 \
        + _conv(128, 64, 4) + 2 * 64 + _conv(64, 3, 3)


# chainer-gan-lib SNDCGANDiscriminator: c0_0 3x3 3->64, c0_1 4x4 64->128, c1_0 3x3 128->128,
# c1_1 4x4 128->256, c2_0 3x3 256->256, c2_1 4x4 256->512, c3_0 3x3 512->512, l4 b*b*512 -> 1 (+bias)
def _chainer_d(b):
    return _conv(3, 64, 3) + _conv(64, 128, 4) + _conv(128, 128, 3) + _conv(128, 256, 4) + _conv(256, 256, 3) \
        + _conv(256, 512, 4) + _conv(512, 512, 3) + (b * b * 512 + 1)


CNN_G_32, CNN_D_32, CNN_G_48, CNN_D_48 = 3_828_739, 5_860_865, 5_170_179, 5_871_105
# DCGANDiscriminator's BN (use_gamma=False): beta of c0_1 .. c3_0, none after c0_0
CNN_D_BN_SHIFTS = 128 + 128 + 256 + 256 + 512 + 512


# sngan_projection ResNetGenerator(ch): l1 128 -> 16 ch (+bias); 3 x Block(ch, ch, upsample): b1, b2
# (gamma, beta), c1, c2 3x3 (+bias), c_sc 1x1 (+bias); b5; c5 3x3 ch -> 3 (+bias). Gulrajani's
# Generator at DIM_G has the same variables (Batchnorm offset and scale, biases everywhere).
def _resnet_g(ch):
    block = 2 * ch + _conv(ch, ch, 3) + 2 * ch + _conv(ch, ch, 3) + _conv(ch, ch, 1)
    return (128 * 16 * ch + 16 * ch) + 3 * block + 2 * ch + _conv(ch, 3, 3)


# snresnet_32 SNResNetProjectionDiscriminator(ch=128): OptimizedBlock(3, ch): c1 3x3 3->ch, c2 3x3,
# c_sc 1x1 3->ch; Block(ch, ch, downsample): c1, c2, c_sc 1x1; 2 x Block(ch, ch): c1, c2;
# l5 ch -> 1 without bias. Gulrajani's Discriminator: the same, its Output linear with a bias.
def _resnet_d(ch, fc_bias):
    return (_conv(3, ch, 3) + _conv(ch, ch, 3) + _conv(3, ch, 1)) + (2 * _conv(ch, ch, 3) + _conv(ch, ch, 1)) \
        + 2 * (2 * _conv(ch, ch, 3)) + ch + (1 if fc_bias else 0)


RESNET_G_256, RESNET_G_128, RESNET_D, GULRAJANI_D = 4_276_739, 1_204_483, 1_053_824, 1_053_825


def test_the_hand_counts_are_the_formulas():
    assert (_chainer_g(4), _chainer_d(4), _chainer_g(6), _chainer_d(6)) == (CNN_G_32, CNN_D_32, CNN_G_48, CNN_D_48)
    assert (_resnet_g(256), _resnet_g(128), _resnet_d(128, False), _resnet_d(128, True)) == (
        RESNET_G_256, RESNET_G_128, RESNET_D, GULRAJANI_D)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build(overrides):
    cfg = compose_train(overrides)
    normalizer = build_normalizer(cfg.norm)
    G, D = build_pair(cfg.arch, cfg.dataset.resolution, 10, normalizer.feature_norm)
    normalizer.apply(D)
    return cfg, G, D


CNN_METHODS = {"sn_gan": 0, "sn_gan_hinge": 0, "clip": 0, "gan_gp": 0, "wgan_gp": 0, "weight_norm": 0,
               "orthonormal": 0, "batch_norm": CNN_D_BN_SHIFTS, "layer_norm": CNN_D_BN_SHIFTS}


@pytest.mark.parametrize("method,extra_d", sorted(CNN_METHODS.items()))
@pytest.mark.parametrize("dataset,g_count,d_count", [("cifar10", CNN_G_32, CNN_D_32), ("stl10", CNN_G_48, CNN_D_48)])
def test_table2_cnn_presets_have_the_reference_parameter_counts(method, extra_d, dataset, g_count, d_count):
    _, G, D = build([f"dataset={dataset}", f"method={method}"])
    assert count(G) == g_count
    assert count(D) == d_count + extra_d


@pytest.mark.parametrize("method,g_count", [("resnet_sn_gan_hinge", RESNET_G_256),
                                            ("resnet_orthonormal_hinge", RESNET_G_128)])
def test_table2_resnet_presets_have_the_reference_parameter_counts(method, g_count):
    cfg, G, D = build(["dataset=cifar10", f"method={method}"])
    assert count(G) == g_count and count(D) == RESNET_D
    assert cfg.setting.lr_decay == "linear" and cfg.setting.decay_start == 0


# Table 7 rows: the reparametrized ones add their learnable scales gamma (one per layer; one per
# output row for weight norm), on top of the reference network
CNN_D_LAYERS = 8
CNN_D_ROWS = 64 + 128 + 128 + 256 + 256 + 512 + 512 + 1
RESNET_D_LAYERS = 3 + 3 + 2 + 2 + 1
TABLE7 = {
    "cnn_baseline": (CNN_G_32, CNN_D_32),
    "cnn_frobenius": (CNN_G_32, CNN_D_32 + CNN_D_LAYERS),
    "cnn_weight": (CNN_G_32, CNN_D_32 + CNN_D_ROWS),
    "cnn_sn": (CNN_G_32, CNN_D_32 + CNN_D_LAYERS),
    "resnet_baseline": (RESNET_G_128, GULRAJANI_D),
    "resnet_sn": (RESNET_G_128, GULRAJANI_D + RESNET_D_LAYERS),
}


@pytest.mark.parametrize("row", sorted(TABLE7))
def test_table7_presets_have_the_reference_parameter_counts(row):
    cfg, G, D = build([f"+experiment/table7={row}", "loss=wasserstein"])
    assert (count(G), count(D)) == TABLE7[row]
    if row.startswith("resnet"):
        assert cfg.arch.d_pool == "mean" and cfg.setting.lr_decay == "linear"


def test_table7_wide_d_is_one_and_a_half_times_gulrajanis():
    _, G, D = build(["+experiment/table7=resnet_sn_wide_d", "loss=wasserstein"])
    widths = [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert set(widths) == {192} and count(G) == RESNET_G_128


def test_cnn_layers_as_chainer_gan_lib_builds_them():
    _, G, D = build(["dataset=cifar10", "method=sn_gan"])
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (3, 64, 3, 1), (64, 128, 4, 2), (128, 128, 3, 1), (128, 256, 4, 2), (256, 256, 3, 1), (256, 512, 4, 2),
        (512, 512, 3, 1)]
    assert [m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)] == [0.2] * 7
    assert isinstance(G.bn0, nn.BatchNorm1d) and G.bn0.num_features == 4 * 4 * 512  # over the dense units
    x = torch.randn(2, 3, 32, 32)
    assert D(x).shape == (2,) and G(torch.rand(2, 128) * 2 - 1).shape == (2, 3, 32, 32)


def test_resnet_blocks_as_sngan_projection_builds_them():
    """D blocks' hidden width is their input's (the first block's: its output's); residual convs
    start Glorot-uniform with gain sqrt(2), shortcuts and dense layers with gain 1."""
    torch.manual_seed(0)
    _, G, D = build(["dataset=stl10", "arch=resnet", "norm=none"])
    hidden = [(b.conv1.in_channels, b.conv1.out_channels, b.conv2.out_channels) for b in D.blocks]
    assert hidden == [(3, 64, 64), (64, 64, 128), (128, 128, 256), (256, 256, 512), (512, 512, 1024)]
    assert D.fc.bias is None

    def bound(w, gain):  # Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
        fan_in, fan_out = w.shape[1] * w[0, 0].numel(), w.shape[0] * w[0, 0].numel()
        return gain * math.sqrt(6 / (fan_in + fan_out))

    block = G.blocks[1]
    for conv, gain in ((block.conv1, math.sqrt(2)), (block.conv2, math.sqrt(2)), (block.shortcut, 1.0)):
        a = bound(conv.weight, gain)
        assert conv.weight.abs().max() <= a and conv.weight.abs().max() > 0.9 * a
    assert G.fc.weight.abs().max() <= bound(G.fc.weight[:, :, None, None], 1.0)


def test_fidelity_text_switches_every_stated_point_at_once():
    code, text = compose_train(["dataset=cifar10"]), compose_train(["dataset=cifar10", "fidelity=text"])
    assert (code.arch.d_channels, code.arch.d_slope, code.arch.z_distribution, code.arch.g_dense_bn,
            code.arch.d_first_norm, code.arch.data_scaling, code.norm.power_iteration) == (
        "downsample", 0.2, "uniform", "units", False, "exact", "every_forward")
    assert (text.arch.d_channels, text.arch.d_slope, text.arch.z_distribution, text.arch.g_dense_bn,
            text.arch.d_first_norm, text.arch.data_scaling, text.norm.power_iteration) == (
        "table3", 0.1, "normal", "channels", True, "exact", "every_update")
    # a normalizer's own points (fidelity/norm/), for whichever normalizer has them
    clip = [compose_train(["norm=clip", f"fidelity={f}"]).norm.clip_params for f in ("code", "text")]
    assert clip == ["all", "weights"]
    assert compose_train(["norm=spectral_gamma", "fidelity=text"]).norm.power_iteration == "every_update"
    _, G, D = build(["dataset=cifar10", "fidelity=text", "norm=batch"])
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [64, 64, 128, 128, 256, 256, 512]
    assert isinstance(G.bn0, nn.BatchNorm2d) and G.bn0.num_features == 512
    assert [m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)] == [0.1] * 7
    assert len([m for m in D.modules() if isinstance(m, nn.BatchNorm2d)]) == 7
    # a key given on its own still wins over the switch
    assert compose_train(["fidelity=text", "arch.d_slope=0.3"]).arch.d_slope == 0.3


def test_architecture_defaults_of_the_reference_code():
    cnn, resnet = compose_train(["arch=cnn"]), compose_train(["arch=resnet"])
    assert (cnn.arch.z_distribution, cnn.arch.g_batch_size, cnn.arch.data_scaling) == ("uniform", 64, "exact")
    assert (resnet.arch.z_distribution, resnet.arch.g_batch_size, resnet.arch.data_scaling) == (
        "normal", 128, "dequantize")
    assert cnn.train.g_batch_size is None and cnn.train.batch_size == 64
