import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.models import build_discriminator, build_generator
from sngan_cli.models.resnet import variant


@pytest.mark.parametrize("arch,resolution", [("cnn", 16), ("cnn", 32), ("cnn", 48),
                                             ("resnet", 16), ("resnet", 32), ("resnet", 48), ("resnet", 128)])
def test_forward_shapes(arch, resolution):
    torch.manual_seed(0)
    G = build_generator(arch, resolution, z_dim=16, width=0.0625)
    D = build_discriminator(arch, resolution, width=0.0625)
    x = G(torch.randn(2, 16))
    assert x.shape == (2, 3, resolution, resolution)
    assert x.abs().max() <= 1
    assert D(x).shape == (2,)


def test_conditional_resnet_uses_labels():
    torch.manual_seed(0)
    G = build_generator("resnet", 32, z_dim=8, width=0.0625, num_classes=5)
    D = build_discriminator("resnet", 32, width=0.0625, num_classes=5)
    z = torch.randn(2, 8)
    a, b = G(z, torch.tensor([0, 0])), G(z, torch.tensor([1, 1]))
    G.eval()
    assert a.shape == (2, 3, 32, 32)
    with torch.no_grad():
        torch.nn.init.normal_(G.blocks[0].bn1.gain.weight)
        torch.nn.init.normal_(D.embed.weight)
        x = G(z, torch.tensor([0, 0]))
        assert not torch.allclose(x, G(z, torch.tensor([1, 1])))
        assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([1, 1])))


def test_paper_channel_counts():
    D = build_discriminator("cnn", 32)  # the authors' code: doubled at each 4x4 stride-2 conv
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 128, 256, 256, 512, 512]
    assert [c.kernel_size[0] for c in convs] == [3, 4, 3, 4, 3, 4, 3]
    D = build_discriminator("cnn", 32, channels="table3")
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512]
    assert D.fc.in_features == 512 * 4 * 4
    G = build_generator("cnn", 48)
    assert G.fc.out_features == 6 * 6 * 512
    assert variant(32)[1:] == ([256, 256, 256, 256], [128, 128], 2)
    assert variant(48)[0] == 6
    assert variant(128)[2] == [64, 128, 256, 512, 1024]


def test_width_multipliers_and_last_layer_channels():
    D = build_discriminator("cnn", 32, width=1.5, last_channels=40)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 192, 192, 384, 384, 768, 40]
    D = build_discriminator("resnet", 48, width=0.5, last_channels=24)
    assert D.fc.in_features == 24
    G = build_generator("resnet", 32, width=2.0)
    assert G.fc.out_features == 4 * 4 * 512


@pytest.mark.parametrize("arch,resolution", [("cnn", 20), ("resnet", 40)])
def test_unsupported_resolution_is_a_clear_error(arch, resolution):
    with pytest.raises(SnganError, match="resolution"):
        build_generator(arch, resolution)
