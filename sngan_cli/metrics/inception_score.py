"""Inception Score, exp(E_x KL(p(y|x) ‖ p(y))) (Salimans et al. 2016; paper Appendix B.1).

As in the original code: the samples are cut in `splits` consecutive parts (no shuffling), p(y) is
the mean prediction of a part, and the mean and (population) standard deviation of the per-part
scores are reported.
"""
from __future__ import annotations

import numpy as np
from scipy.special import rel_entr


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Mean and std over `splits` parts of the Inception Score of class probabilities [N, C]."""
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.shape[0]
    if probs.ndim != 2 or splits < 1 or n < splits:
        raise ValueError(f"need probabilities shaped [N >= splits={splits}, C], got {probs.shape}")
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        # rel_entr gives 0·log 0 = 0, so one-hot predictions do not turn into NaN.
        kl = rel_entr(part, marginal).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
