"""Figure 10 (Appendix C.2): wall time of 100 generator updates (each with its n_dis D updates) per
method, n_dis = 5 as in the paper. ``sngan report`` takes it from the runs' TensorBoard
``time/step_s`` (median over a run, times 100; mean +/- std over runs); ``sngan bench`` measures it
directly. Times from different machines are not comparable.
"""
from __future__ import annotations

import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from sngan_cli.reporting.cells import group_by
from sngan_cli.reporting.events import scalars
from sngan_cli.reporting.methods import deviations, method_row
from sngan_cli.reporting.paper import dataset_label
from sngan_cli.reporting.plotting import color, new_figure, save_png
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.tables import Sources

TAG = "time/step_s"
N_DIS = 5
Bar = Tuple[str, float, Optional[float]]  # label, seconds per 100 G updates, std (None: one value)


def seconds_per_100(run: Run) -> Optional[float]:
    """100 x the median logged seconds per G update (the median shrugs off the first interval's start-up)."""
    points = scalars(run.path, TAG).get(TAG, [])
    return 100 * statistics.median(v for _, v in points) if points else None


def bars(runs: List[Run], key: str, sources: Sources) -> List[Bar]:
    out: List[Bar] = []
    selected = [r for r in runs if not deviations(r) and r.get("setting.n_dis") == N_DIS]
    for label, group in group_by(selected, lambda r: method_row(r).label).items():
        timed = [(r, t) for r in group if (t := seconds_per_100(r)) is not None]
        sources[f"{key}/{label}"] = [r.rel for r, _ in timed]
        if timed:
            values = [t for _, t in timed]
            out.append((label, statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None))
    return out


def plot_times(path: str, title: str, panels: Sequence[Tuple[str, List[Bar]]]) -> None:
    fig, axes = new_figure(1, len(panels), (max(7.0, 1.3 * max(len(b) for _, b in panels)), 4.5))
    for ax, (panel_title, panel_bars) in zip(axes, panels):
        labels = [b[0] for b in panel_bars]
        ax.bar(range(len(panel_bars)), [b[1] for b in panel_bars],
               yerr=[b[2] or 0.0 for b in panel_bars], color=[color(i) for i in range(len(panel_bars))], capsize=3)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize="small")
        ax.set_ylabel("s per 100 G updates")
        ax.set_title(panel_title, fontsize="small")
    fig.suptitle(title, fontsize="medium")
    save_png(fig, path)


def write_figure10(out_dir: str, runs_by_dataset: Dict[str, List[Run]], sources: Sources) -> Optional[str]:
    panels = [(dataset_label(d), b) for d, runs in runs_by_dataset.items()
              if (b := bars(runs, f"figure10/{d}", sources))]
    if not panels:
        return None
    path = f"{out_dir}/figure10.png"
    plot_times(path, f"Figure 10: time per 100 generator updates, n_dis = {N_DIS} (from time/step_s)", panels)
    return path
