"""A pair of feature sets (real, fake) checked for the sample-based metrics (KID, precision/recall,
density/coverage): both 2-D with the same width, finite, with enough samples, on one device.

A violation is a one-line SnganError naming the metric and the offending set, so `sngan eval`
prints it without a traceback.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

from sngan_cli import SnganError

Features = Union[torch.Tensor, np.ndarray]


def feature_pair(
    real: Features, fake: Features, *, metric: str, min_samples: int, dtype: torch.dtype, why: str = ""
) -> tuple[torch.Tensor, torch.Tensor]:
    """(real, fake) as `dtype` tensors on the device of `real`, or a SnganError saying what is wrong.

    `min_samples` is what the metric needs in each set (2 for an unbiased MMD², k + 1 for a k-NN
    radius that leaves the point itself out); `why` ends that error message (e.g. "for k = 3").
    """
    tensors = []
    for name, features in (("real", real), ("fake", fake)):
        features = torch.as_tensor(features)
        if features.ndim != 2:
            raise SnganError(f"{metric}: {name} features must be shaped [N, D], got {tuple(features.shape)}")
        if features.shape[0] < min_samples:
            raise SnganError(
                f"{metric}: needs at least {min_samples} {name} samples{' ' + why if why else ''}, "
                f"got {features.shape[0]}"
            )
        if features.is_complex() or features.dtype == torch.bool:
            raise SnganError(f"{metric}: {name} features must be real numbers, got {features.dtype}")
        tensors.append(features)
    real_t, fake_t = tensors
    if real_t.shape[1] != fake_t.shape[1]:
        raise SnganError(
            f"{metric}: real and fake features have different widths ({real_t.shape[1]} vs {fake_t.shape[1]}); "
            "were they computed by the same detector?"
        )
    if real_t.shape[1] == 0:
        raise SnganError(f"{metric}: the features have width 0")
    real_t = real_t.to(dtype=dtype)
    fake_t = fake_t.to(device=real_t.device, dtype=dtype)
    for name, features in (("real", real_t), ("fake", fake_t)):
        if not bool(torch.isfinite(features).all()):
            raise SnganError(f"{metric}: the {name} features contain NaN or infinite values")
    return real_t, fake_t
