"""Singular values of every effective weight of a trained D (Figure 3, Sec. 4.1.1): the weight each
layer really uses (``module.weight``, the normalized one for a parametrized layer), a conv kernel
seen as d_out x (d_in*h*w), by an exact SVD in float64.

Beside the exact spectral norm of the effective weight, each layer reports what the normalizer
itself estimates (``Normalizer.sigma_estimates``: spectral norm's u^T W v, the power-iteration
estimate of the RAW weight's sigma, null for normalizers that keep none) and the exact spectral
norm of that raw weight, so the estimate can be checked against the number it estimates. For
spectral norm the effective weight is K * W / estimate, so its exact sigma is K * exact_raw / estimate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

import torch
from torch import nn

from sngan_cli.norms import Normalizer, raw_weight, weight_layers


@dataclass
class LayerSpectrum:
    name: str
    singular_values: List[float]  # of the effective weight, descending
    sigma_exact: float  # largest of them
    sigma_estimate: Optional[float]  # the normalizer's estimate of the raw weight's sigma
    sigma_exact_raw: float  # exact sigma of the raw (stored) weight

    def as_dict(self) -> Dict:
        return asdict(self)


def singular_values(weight: torch.Tensor) -> torch.Tensor:
    """Descending float64 singular values of ``weight`` seen as d_out x (everything else)."""
    return torch.linalg.svdvals(weight.detach().flatten(1).to(torch.float64))


@torch.no_grad()
def layer_spectra(D: nn.Module, normalizer: Normalizer) -> List[LayerSpectrum]:
    estimates = {name: float(v) for name, v in normalizer.sigma_estimates(D).items()}
    out = []
    for name, module in weight_layers(D):
        values = singular_values(module.weight)
        out.append(LayerSpectrum(name, values.tolist(), float(values[0]), estimates.get(name),
                                 float(singular_values(raw_weight(module))[0])))
    return out
