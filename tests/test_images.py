import torch

from sngan_cli.images import grid, to_uint8


def test_quantization_truncates_by_default_and_rounds_when_asked():
    """The authors' evaluation code truncates ((x + 1) * 127.5).astype(uint8): 0.0 -> 127.5 -> 127."""
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 0.999, 1.0, 1.5, -3.0])
    assert to_uint8(x).tolist() == [0, 0, 127, 191, 254, 255, 255, 0]
    assert to_uint8(x, "round").tolist() == [0, 0, 128, 191, 255, 255, 255, 0]


def test_grid_layout():
    images = torch.stack([torch.full((3, 4, 5), i + 1, dtype=torch.uint8) for i in range(5)])
    g = grid(images, nrow=3)
    assert g.shape == (3, 2 * (4 + 2) + 2, 3 * (5 + 2) + 2)
    assert g[0, 2, 2] == 1 and g[0, 2, 2 + 7] == 2 and g[0, 2 + 6, 2 + 7] == 5
    assert g[0, 0, 0] == 0 and g[0, 2 + 6, 2 + 14] == 0  # padding and the empty sixth cell
