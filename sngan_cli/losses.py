"""Adversarial losses on D's raw logits f (Sec. 2 and Eq. 17 of the paper), chosen by name.

Each loss is a pair: ``d(real_logits, fake_logits)`` minimised by D, ``g(fake_logits)`` minimised by G,
added to LOSSES by name; ``loss=name`` composes its config (config/schema.py registers each), which
holds the name alone: no loss has options.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, NamedTuple

import torch
import torch.nn.functional as F
from omegaconf import MISSING

from sngan_cli import SnganError


@dataclass
class LossConfig:
    name: str = MISSING


class Loss(NamedTuple):
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


LOSSES: Dict[str, Loss] = {
    # D maximises E[log sigmoid f(x)] + E[log(1 - sigmoid f(G(z)))]; G is non-saturating
    "standard": Loss(d=lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
                     g=lambda fake: F.softplus(-fake).mean()),
    # Eq. (17)
    "hinge": Loss(d=lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
                  g=lambda fake: -fake.mean()),
    "wasserstein": Loss(d=lambda real, fake: fake.mean() - real.mean(),
                        g=lambda fake: -fake.mean()),
}


def get_loss(name: str) -> Loss:
    if name not in LOSSES:
        raise SnganError(f"loss={name} is unknown: choose one of {', '.join(sorted(LOSSES))}")
    return LOSSES[name]
