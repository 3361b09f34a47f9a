"""One number of a table or figure from the runs behind it: final score (``eval.json``), best score
(over ``metrics.jsonl`` and ``eval.json``: highest IS, lowest FID, with its step), mean and sample
standard deviation over seeds, and the run directories it came from.

An Inception Score carries its own ± as Table 2 does: the standard deviation over the 10 splits of
one run's images (averaged over the seeds of a cell); the spread over seeds is shown beside it. With
several seeds a cell also gives the 95% confidence interval of its mean (reporting/significance.py).

A cell holds runs of one configuration: they may differ in ``seed`` and in keys that do not change
G's numbers (config.changes_g_numbers), nothing else. Runs of a method and setting that differ in
another key (``train.batch_size=16`` beside the default) are left out of the cell, listed with the
keys they differ in; the cell keeps the configuration most of them share (of equals, the first in
path order). A cell counts each seed once: when two runs of a cell share a seed (the same
configuration reached by two presets, e.g. Figure 11's n_dis=5 and setting D itself), the one with
an evaluation at the latest step is used and the other is listed as a duplicate.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable, Iterable, List, NamedTuple, Optional, Tuple

from sngan_cli.config import changes_g_numbers, flatten
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.significance import interval95

IS, FID = "inception_score_mean", "fid"
HIGHER_IS_BETTER = {IS: True, FID: False}
DIGITS = {IS: 2, FID: 1}
MISSING = "—"



@dataclass(frozen=True)
class Score:
    value: float
    step: Optional[int]
    run: str  # the run directory, relative to the report root
    split_std: Optional[float] = None  # IS: std over the splits of this run's images


SPLIT_STD = {IS: "inception_score_std"}  # the metrics that carry a within-run std, and its key


def number(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def final_score(run: Run, metric: str) -> Optional[Score]:
    value = number(run.eval.get(metric)) if run.eval else None
    return None if value is None else Score(value, run.eval.get("step"), run.rel, _split_std(run.eval, metric))


def _split_std(entry: Dict, metric: str) -> Optional[float]:
    return number(entry.get(SPLIT_STD[metric])) if metric in SPLIT_STD else None


def best_score(run: Run, metric: str) -> Optional[Score]:
    entries = run.metrics + ([run.eval] if run.eval else [])
    scores = [Score(v, e.get("step"), run.rel, _split_std(e, metric))
              for e in entries if (v := number(e.get(metric))) is not None]
    if not scores:
        return None
    pick = max if HIGHER_IS_BETTER[metric] else min
    return pick(scores, key=lambda s: s.value)


@dataclass
class Cell:
    scores: List[Score]
    missing: List[str] = field(default_factory=list)  # runs of the cell without this number

    @property
    def values(self) -> List[float]:
        return [s.value for s in self.scores]

    @property
    def mean(self) -> Optional[float]:
        return statistics.fmean(self.values) if self.scores else None

    @property
    def std(self) -> Optional[float]:
        """Sample standard deviation over seeds (n - 1); None for fewer than two seeds."""
        return statistics.stdev(self.values) if len(self.scores) >= 2 else None

    @property
    def split_std(self) -> Optional[float]:
        """Mean over seeds of each run's std over its IS splits (Table 2's ±); None if one lacks it."""
        stds = [s.split_std for s in self.scores]
        return statistics.fmean(stds) if stds and None not in stds else None

    @property
    def interval(self) -> Optional[Tuple[float, float]]:
        """95% confidence interval of the mean over seeds; None for fewer than two seeds."""
        return interval95(self.values)

    @property
    def sources(self) -> List[str]:
        return [s.run for s in self.scores]

    def text(self, metric: str, with_steps: bool = False) -> str:
        if not self.scores:
            return MISSING
        digits = DIGITS[metric]
        if self.split_std is not None:  # ± over splits, as the paper's; the spread over seeds beside it
            out = format_mean_std(self.mean, self.split_std, digits)
            if self.std is not None:
                out += f" (seeds ± {self.std:.{digits}f}, 95% CI {format_interval(self.interval, digits)})"
        else:
            out = format_mean_std(self.mean, self.std, digits)
            if self.interval is not None:
                out += f" (95% CI {format_interval(self.interval, digits)})"
        if with_steps:
            out += " @ " + "/".join(str(s.step) if s.step is not None else "?" for s in self.scores)
        return out


def format_interval(interval: Tuple[float, float], digits: int) -> str:
    return f"{interval[0]:.{digits}f}–{interval[1]:.{digits}f}"


def format_mean_std(mean: Optional[float], std: Optional[float], digits: int) -> str:
    if mean is None:
        return MISSING
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def cell(runs: Iterable[Run], metric: str, best: bool = False) -> Cell:
    scores, missing = [], []
    for run in runs:
        score = (best_score if best else final_score)(run, metric)
        if score is None:
            missing.append(run.rel)
        else:
            scores.append(score)
    return Cell(scores, missing)


def _preference(run: Run) -> Tuple[int, int]:
    step = run.eval.get("step") if run.eval else None
    return (run.eval is not None, step if isinstance(step, int) else -1)


def distinct_seeds(runs: Iterable[Run]) -> Tuple[List[Run], List[Run]]:
    """(one run per seed, the duplicates left out), in path order."""
    by_seed: Dict[Hashable, List[Run]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, []).append(run)
    kept, duplicates = [], []
    for group in by_seed.values():
        chosen = max(group, key=_preference)  # max keeps the first of equals: path order decides ties
        kept.append(chosen)
        duplicates.extend(r for r in group if r is not chosen)
    return sorted(kept, key=lambda r: r.rel), duplicates


class Grouped(NamedTuple):
    kept: Dict[str, List[Run]]  # setting -> the runs of its cell, one per seed
    duplicates: List[Run]  # seeds counted once (another run of the same cell and seed was used)
    excluded: List[Tuple[Run, str]]  # runs of another configuration than their cell's, with why


def by_setting(runs: Iterable[Run]) -> Grouped:
    """The runs of each setting (in setting order): one configuration, one run per seed."""
    grouped = Grouped({}, [], [])
    for setting, group in sorted(group_by(runs, lambda r: str(r.get("setting.name"))).items()):
        same, other = one_configuration(group)
        grouped.kept[setting], dups = distinct_seeds(same)
        grouped.duplicates.extend(dups)
        grouped.excluded.extend(other)
    return grouped


def _configuration_keys(flat: Dict, ignore: Tuple[str, ...]) -> List[str]:
    return [k for k in flat if k != "seed" and k not in ignore and changes_g_numbers(k)]


def one_configuration(runs: Iterable[Run], ignore: Tuple[str, ...] = ()) -> Tuple[List[Run], List[Tuple[Run, str]]]:
    """(the runs of the configuration most of ``runs`` share, the others with the keys they differ
    in); ``ignore``: keys a figure varies along its axis."""
    runs = list(runs)
    flats = {r.rel: flatten(r.config or {}) for r in runs}
    # an arch key only some runs hold is another architecture's, which configs written before each
    # architecture had its own keys carry (the union of all): it builds nothing for this one
    ignore = (*ignore, *sorted({k for flat in flats.values() for k in flat if k.startswith("arch.")
                                and not all(k in other for other in flats.values())}))

    def configuration(run: Run) -> Tuple:
        flat = flats[run.rel]
        return tuple(sorted((k, repr(flat[k])) for k in _configuration_keys(flat, ignore)))

    groups = group_by(runs, configuration)
    if len(groups) <= 1:
        return runs, []
    main = max(groups.values(), key=len)  # max keeps the first of equals: path order decides ties
    reference = flats[main[0].rel]
    excluded = []
    in_main = {id(r) for r in main}
    for run in (r for r in runs if id(r) not in in_main):
        flat = flats[run.rel]
        keys = sorted(k for k in set(_configuration_keys(flat, ignore)) | set(_configuration_keys(reference, ignore))
                      if repr(flat.get(k)) != repr(reference.get(k)))
        differences = ", ".join(f"{k}={flat.get(k)!r} (the cell's: {reference.get(k)!r})" for k in keys)
        excluded.append((run, f"another configuration than the {len(main)} run(s) of its cell: {differences}"))
    return main, excluded


def group_by(runs: Iterable[Run], key: Callable[[Run], Hashable]) -> Dict[Hashable, List[Run]]:
    groups: Dict[Hashable, List[Run]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def best_setting(by_setting: Dict[str, List[Run]]) -> Optional[str]:
    """The setting with the highest mean final IS (the paper reports each method at its best)."""
    means = {s: cell(runs, IS).mean for s, runs in by_setting.items()}
    scored = sorted((s for s, m in means.items() if m is not None), key=lambda s: (-means[s], s))
    return scored[0] if scored else None
