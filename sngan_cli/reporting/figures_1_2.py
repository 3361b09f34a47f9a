"""Figures 1 and 2: Inception score (Figure 1) and FID (Figure 2) of each method under every
optimizer setting (A-F of Table 1), as in the paper: grouped bars (x = setting, one bar per method),
error bars = sample std over seeds, one panel per dataset (CIFAR-10, then STL-10, then the others).
A method/setting with runs but no evaluation is marked with an x on the axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from sngan_cli.reporting.cells import FID, IS, Cell, by_setting, cell
from sngan_cli.reporting.paper import Row, dataset_label
from sngan_cli.reporting.plotting import color, new_figure, save_png
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.tables import Sources

# file, title, metric, axis label
FIGURES = (("figure1", "Figure 1: Inception score", IS, "Inception score (higher is better)"),
           ("figure2", "Figure 2: FID", FID, "FID (lower is better)"))


@dataclass
class Panel:
    dataset: str
    settings: List[str]
    methods: List[Tuple[Row, Dict[str, List[Run]]]]  # per method: setting -> one run per seed


def panel(dataset: str, assignments: List[Tuple[Row, List[Run]]]) -> Panel:
    """The standard-CNN, 1x-updates methods with runs in ``dataset``, by setting."""
    methods = []
    for row, runs in assignments:
        if row.arch != "cnn" or row.twice or not runs:
            continue
        methods.append((row, by_setting(runs)[0]))
    settings = sorted({s for _, kept in methods for s in kept})
    return Panel(dataset, settings, methods)


def _draw(ax, p: Panel, metric: str, ylabel: str, figure: str, sources: Sources) -> None:
    width = 0.8 / max(1, len(p.methods))
    for i, (row, runs) in enumerate(p.methods):
        label = row.label  # in the legend once, on the method's first bar
        for j, setting in enumerate(p.settings):
            if setting not in runs:
                continue
            c: Cell = cell(runs[setting], metric)
            sources[f"{figure}/{p.dataset}/{row.key}/{setting}"] = c.sources
            x = j - 0.4 + width * (i + 0.5)
            if c.mean is None:
                ax.plot([x], [0], marker="x", color=color(i), linestyle="none", label=label)
            else:
                ax.bar([x], [c.mean], width, yerr=None if c.std is None else [c.std], color=color(i), capsize=2,
                       label=label)
            label = None
    ax.set_xticks(range(len(p.settings)), p.settings)
    ax.set_xlabel("setting (Table 1)")
    ax.set_ylabel(ylabel)
    ax.set_title(dataset_label(p.dataset))
    ax.legend(fontsize="small", ncol=2)


def write_figures_1_2(out_dir: str, panels: List[Panel], sources: Sources) -> List[str]:
    """figure1.png and figure2.png (one panel per dataset); the paths written."""
    panels = [p for p in panels if p.methods]
    if not panels:
        return []
    written = []
    for figure, title, metric, ylabel in FIGURES:
        fig, axes = new_figure(len(panels), 1, (max(8.0, 1.6 * max(len(p.settings) for p in panels)), 3.8))
        for ax, p in zip(axes, panels):
            _draw(ax, p, metric, ylabel, figure, sources)
        fig.suptitle(f"{title} per method and setting (x: runs without an evaluation)")
        path = f"{out_dir}/{figure}.png"
        save_png(fig, path)
        written.append(path)
    return written
