import math

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.losses import get_loss

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def softplus(x):
    return math.log1p(math.exp(x))


def test_standard_loss_on_known_logits():
    loss = get_loss("standard")
    expected_d = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2
    assert float(loss.d(REAL, FAKE)) == pytest.approx(expected_d)
    assert float(loss.g(FAKE)) == pytest.approx((softplus(-0.5) + softplus(3)) / 2)  # non-saturating


def test_hinge_loss_eq17():
    loss = get_loss("hinge")
    # relu(1 - [2, -1]) = [0, 2]; relu(1 + [0.5, -3]) = [1.5, 0]
    assert float(loss.d(REAL, FAKE)) == pytest.approx(1.0 + 0.75)
    assert float(loss.g(FAKE)) == pytest.approx(1.25)


def test_wasserstein_loss():
    loss = get_loss("wasserstein")
    assert float(loss.d(REAL, FAKE)) == pytest.approx(-1.25 - 0.5)
    assert float(loss.g(FAKE)) == pytest.approx(1.25)


def test_unknown_loss_lists_choices():
    with pytest.raises(SnganError, match="hinge"):
        get_loss("logistic")
