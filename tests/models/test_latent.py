"""G's inputs (models/latent.py): one draw for the updates, the sample grids, the evaluations and the
commands, bit for bit the draws each of them made before."""
import pytest
import torch

from sngan_cli.models.latent import CYCLE, RANDOM, draw_latent, draw_z


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_a_seeded_draw_is_z_then_uniform_labels_from_one_generator(distribution):
    z, y = draw_latent(7, 5, distribution, 10, RANDOM, generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    assert torch.equal(z, draw_z(7, 5, distribution, generator=g))
    assert torch.equal(y, torch.randint(10, (7,), generator=g))


def test_the_default_generator_draws_on_the_device():
    torch.manual_seed(1)
    z, y = draw_latent(6, 4, "normal", 3, device=torch.device("cpu"))
    torch.manual_seed(1)
    assert torch.equal(z, torch.randn(6, 4)) and torch.equal(y, torch.randint(3, (6,)))


def test_grid_labels_cycle_and_a_label_fills_the_batch():
    g = torch.Generator().manual_seed(0)
    z, y = draw_latent(5, 4, "normal", 3, CYCLE, generator=g)
    assert y.tolist() == [0, 1, 2, 0, 1]
    assert torch.equal(z, draw_z(5, 4, "normal", generator=torch.Generator().manual_seed(0)))
    _, y = draw_latent(4, 4, "normal", 3, 2, generator=g)
    assert y.tolist() == [2, 2, 2, 2] and y.dtype == torch.long


def test_an_unconditional_generator_gets_no_labels():
    z, y = draw_latent(3, 8, "uniform", 0, CYCLE)
    assert y is None and z.shape == (3, 8) and z.min() >= -1 and z.max() <= 1
