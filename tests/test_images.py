import math

import pytest
import torch

from sngan_cli.images import square_grid, to_uint8


def test_quantization_truncates_by_default_and_rounds_when_asked():
    """The authors' evaluation code truncates ((x + 1) * 127.5).astype(uint8): 0.0 -> 127.5 -> 127."""
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 0.999, 1.0, 1.5, -3.0])
    assert to_uint8(x).tolist() == [0, 0, 127, 191, 254, 255, 255, 0]
    assert to_uint8(x, "round").tolist() == [0, 0, 128, 191, 255, 255, 255, 0]
    assert to_uint8(x).dtype == torch.uint8


def test_rounding_is_the_inverse_of_the_dataset_scaling_and_truncation_at_most_one_level_below():
    levels = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(to_uint8(levels.float() / 127.5 - 1, "round"), levels)
    below = levels.int() - to_uint8(levels.float() / 127.5 - 1).int()
    assert below.min() == 0 and below.max() <= 1


@pytest.mark.parametrize("n", [2, 3, 4, 5, 9, 10, 64])
def test_grid_layout(n):
    """ceil(sqrt(n)) images per row, 2 px of black padding around and between them, empty cells black:
    the layout of the sample grids before torchvision's make_grid drew them (the same PNGs)."""
    images = torch.stack([torch.full((3, 4, 5), i + 1, dtype=torch.uint8) for i in range(n)])
    g = square_grid(images)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    assert g.dtype == torch.uint8 and g.shape == (3, rows * (4 + 2) + 2, cols * (5 + 2) + 2)
    expected = torch.zeros_like(g)
    for i in range(n):
        top, left = 2 + (i // cols) * 6, 2 + (i % cols) * 7
        expected[:, top:top + 4, left:left + 5] = i + 1
    assert torch.equal(g, expected)
