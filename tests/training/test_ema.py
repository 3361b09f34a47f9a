"""train.ema: an exponential moving average of G that changes nothing else, follows its formula,
copies BN statistics, and resumes bit for bit."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from sngan_cli import SnganError
from sngan_cli.config import validate
from sngan_cli.training.ema import GeneratorEMA
from sngan_cli.training.loop import train

STEPS = ["train.sample_every=2", "train.ckpt_every=2"]


def _last(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)


def test_off_by_default_and_on_it_changes_neither_g_nor_d(tiny_cfg, tmp_path):
    assert tiny_cfg().train.ema is False
    train(tiny_cfg("train.steps=3", *STEPS), str(tmp_path / "plain"))
    train(tiny_cfg("train.steps=3", *STEPS, "train.ema=true", "train.ema_start=1", "train.ema_decay=0.5"),
          str(tmp_path / "ema"))
    plain, ema = _last(tmp_path / "plain"), _last(tmp_path / "ema")
    assert "G_ema" not in plain and "G_ema" in ema
    for part in ("G", "D"):
        assert all(torch.equal(plain[part][k], ema[part][k]) for k in plain[part])
    assert any(not torch.equal(ema["G"][k], ema["G_ema"][k]) for k in ema["G"] if "weight" in k)


def test_the_average_follows_its_formula_and_copies_bn_statistics():
    G = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ema = GeneratorEMA(G, decay=0.9, start=2)
    weights = []
    for step in (1, 2, 3):
        with torch.no_grad():
            G[0].weight.add_(1.0)
            G[1].running_mean.add_(0.5)
        weights.append(G[0].weight.clone())
        ema.update(step)
    # step 1 (< start): a copy; steps 2, 3: 0.9 * ema + 0.1 * G
    expected = 0.9 * (0.9 * weights[0] + 0.1 * weights[1]) + 0.1 * weights[2]
    assert torch.allclose(ema.G[0].weight, expected, atol=1e-6)
    assert torch.equal(ema.G[1].running_mean, G[1].running_mean)  # copied, not averaged
    assert not ema.G[0].weight.requires_grad


def test_a_resumed_run_has_the_average_of_a_straight_one(tiny_cfg, tmp_path):
    keys = ["train.ema=true", "train.ema_start=2", "train.ema_decay=0.7", *STEPS]
    train(tiny_cfg("train.steps=4", *keys), str(tmp_path / "straight"))
    train(tiny_cfg("train.steps=2", *keys), str(tmp_path / "resumed"))
    train(tiny_cfg("train.steps=4", *keys), str(tmp_path / "resumed"))
    straight, resumed = _last(tmp_path / "straight"), _last(tmp_path / "resumed")
    assert resumed["step"] == 4
    assert all(torch.equal(straight["G_ema"][k], resumed["G_ema"][k]) for k in straight["G_ema"])


@pytest.mark.parametrize("key,value", [("train.ema_decay", "1.0"), ("train.ema_decay", "-0.1"),
                                       ("train.ema_start", "-1")])
def test_bad_values_are_refused(key, value, tiny_cfg):
    with pytest.raises(SnganError, match=f"{key}={value} is not allowed"):
        validate(tiny_cfg(f"{key}={value}"))
