"""The registry of architectures: each builds G and D from its own config, each of its keys read."""
import dataclasses

import pytest
import torch
from torch import nn

from sngan_cli import SnganError
from sngan_cli.models import ArchConfig, arch_config, architectures, discriminator_from, generator_from


def _leaky_slopes(D):
    return {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)}


def _first_conv_norm(D):
    return type(D.convs[0][1])


# each architecture's own keys: a value other than the default, and what it changes in G or D
OWN_KEYS = {
    "cnn": {"d_channels": ("table3", lambda G, D: D.convs[1][0].out_channels == 8),
            "d_slope": (0.1, lambda G, D: _leaky_slopes(D) == {0.1}),
            "g_dense_bn": ("channels", lambda G, D: isinstance(G.bn0, nn.BatchNorm2d)),
            "d_first_norm": (True, lambda G, D: _first_conv_norm(D) is nn.LayerNorm)},
    "resnet": {"d_hidden": ("output", lambda G, D: D.blocks[1].conv1.out_channels == D.blocks[1].conv2.out_channels
                            != D.blocks[1].conv1.in_channels),
               "residual_gain": (1e-6, lambda G, D: G.blocks[0].conv1.weight.detach().abs().max().item() < 1e-5
                                 and D.blocks[0].conv1.weight.detach().abs().max().item() < 1e-5),
               "d_pool": ("mean", lambda G, D: D.pool == "mean"),
               "d_fc_bias": (True, lambda G, D: D.fc.bias is not None)},
}


def test_every_architecture_s_own_keys_are_listed_here():
    common = {f.name for f in dataclasses.fields(ArchConfig)}
    assert {name: {f.name for f in dataclasses.fields(a.config)} - common for name, a in architectures().items()} == {
        name: set(keys) for name, keys in OWN_KEYS.items()}


@pytest.mark.parametrize("arch,key", [(arch, key) for arch, keys in OWN_KEYS.items() for key in keys])
def test_each_key_of_an_architecture_reaches_its_networks(arch, key):
    value, changed = OWN_KEYS[arch][key]
    # a checkpoint's plain dict: closed choices by name
    base = {"name": arch, "width": 0.125}
    norm = lambda c: nn.LayerNorm([c, 1, 1], elementwise_affine=False)  # noqa: E731  (only its type is read)
    built = [(generator_from(values, 48, 0), discriminator_from(values, 48, 0, norm))  # 48 px: D's widths grow
             for values in (base, {**base, key: value})]
    assert not changed(*built[0]) and changed(*built[1])


def test_a_config_is_checked_against_its_architecture_s_keys():
    assert type(arch_config({"name": "resnet", "d_pool": "mean"})).__name__ == "ResNetConfig"
    with pytest.raises(SnganError, match="arch=cnn: Key 'd_pool' not in 'CNNConfig'"):
        arch_config({"name": "cnn", "d_pool": "mean"})
    with pytest.raises(SnganError, match="arch=mlp is unknown: choose one of cnn, resnet"):
        arch_config({"name": "mlp"})


def test_the_standard_cnn_is_not_conditional():
    from sngan_cli.models import build_generator, check_arch

    with pytest.raises(SnganError, match="arch.conditional=true needs arch=resnet"):
        check_arch("cnn", 32, conditional=True)
    with pytest.raises(SnganError, match="arch=cnn dataset.resolution=32: the standard CNN has no conditional G"):
        build_generator("cnn", 32, num_classes=10)
    torch.manual_seed(0)
    G = generator_from({"name": "cnn", "width": 0.125, "conditional": False}, 32, 10)  # the labels are not read
    assert G(torch.randn(2, 128)).shape == (2, 3, 32, 32)
