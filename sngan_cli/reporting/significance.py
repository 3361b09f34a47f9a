"""Seeds and significance: how sure a table's comparison is.

- The 95% confidence interval of a mean over seeds: mean ± t(0.975, n - 1) · s / √n (Student's t,
  s the sample standard deviation), for two seeds or more.
- Whether a method's final score differs from SN-GANs': Welch's t-test (two-sided, unequal
  variances) on the per-seed final scores of both at their best settings; the difference holds when
  p < ``ALPHA``.
- Whether G's moving average scores otherwise than G: a paired t-test over the seeds (the same runs). Welch's test rather than a bootstrap: with the 3-5 seeds a sweep affords, a
  bootstrap's resamples take only a handful of distinct values, and its interval is too narrow.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from scipy import stats

ALPHA = 0.05


def interval95(values: Sequence[float]) -> Optional[Tuple[float, float]]:
    """The 95% confidence interval of the mean of ``values``; None for fewer than two."""
    n = len(values)
    if n < 2:
        return None
    mean, half = statistics.fmean(values), 0.0
    s = statistics.stdev(values)
    if s > 0:
        half = float(stats.t.ppf(0.975, n - 1)) * s / math.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Difference:
    delta: float  # mean of the method minus mean of the reference
    p: float  # Welch's two-sided p-value
    n: int  # seeds of the method
    n_reference: int

    @property
    def holds(self) -> bool:
        return self.p < ALPHA


def welch(values: Sequence[float], reference: Sequence[float]) -> Optional[Difference]:
    """Welch's t-test of ``values`` against ``reference``; None when either has fewer than two seeds."""
    if len(values) < 2 or len(reference) < 2:
        return None
    delta = statistics.fmean(values) - statistics.fmean(reference)
    if statistics.stdev(values) == 0 and statistics.stdev(reference) == 0:
        p = 1.0 if delta == 0 else 0.0  # no spread at all: any difference is exact
    else:
        p = float(stats.ttest_ind(values, reference, equal_var=False).pvalue)
    return Difference(delta, p, len(values), len(reference))


def paired(values: Sequence[float], reference: Sequence[float]) -> Optional[Difference]:
    """The paired t-test of ``values`` against ``reference`` (seed by seed); None for fewer than two pairs."""
    if len(values) != len(reference) or len(values) < 2:
        return None
    deltas = [a - b for a, b in zip(values, reference)]
    if statistics.stdev(deltas) == 0:
        p = 1.0 if deltas[0] == 0 else 0.0
    else:
        p = float(stats.ttest_rel(values, reference).pvalue)
    return Difference(statistics.fmean(deltas), p, len(values), len(reference))


def difference_text(name: str, difference: Optional[Difference], digits: int) -> str:
    """``IS +0.32 (p 0.012)``; a difference that does not hold is marked ``n.s.``."""
    if difference is None:
        return f"{name} ?"
    mark = "" if difference.holds else ", n.s."
    return f"{name} {difference.delta:+.{digits}f} (p {difference.p:.3f}{mark})"
