"""Matplotlib figures without global state (``Figure`` objects, Agg canvas, no pyplot), saved
atomically as PNG."""
from __future__ import annotations

import io
from typing import Tuple

from matplotlib.figure import Figure

from sngan_cli.atomic import atomic_write

# one colour per method, stable across figures (the tab10 cycle, then tab20's light shades)
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")


def color(index: int) -> str:
    return _COLORS[index % len(_COLORS)]


def new_figure(rows: int, cols: int, panel_size: Tuple[float, float] = (6.0, 3.5)) -> Tuple[Figure, list]:
    fig = Figure(figsize=(panel_size[0] * cols, panel_size[1] * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def save_png(fig: Figure, path: str) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
