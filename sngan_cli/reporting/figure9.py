"""Figure 9 (Appendix C.1): the exact spectral norm of each D layer's effective weight over training
(TensorBoard ``sigma_exact/<layer>``), for one spectrally normalized run per dataset: the paper's
standard CNN SN-GAN under setting C where there is one, the first seed. It should stay near 1 (1-1.05).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from sngan_cli.reporting.events import Points, scalars
from sngan_cli.reporting.methods import deviations, table2_row
from sngan_cli.reporting.paper import dataset_label
from sngan_cli.reporting.plotting import color, new_figure, save_png
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.tables import Sources

PREFIX = "sigma_exact/"


def _preference(run: Run) -> Tuple:
    row = table2_row(run)
    return (row is None or row.key != "sn_gan", run.get("setting.name") != "C", run.get("seed", 0), run.rel)


def pick_run(runs: List[Run]) -> Optional[Run]:
    candidates = [r for r in runs if r.get("norm.name") == "spectral" and not deviations(r)]
    return min(candidates, key=_preference) if candidates else None


def write_figure9(out_dir: str, runs_by_dataset: Dict[str, List[Run]], sources: Sources) -> Optional[str]:
    panels: List[Tuple[str, Run, Dict[str, Points]]] = []
    for dataset, runs in runs_by_dataset.items():
        run = pick_run(runs)
        curves = scalars(run.path, PREFIX) if run else {}
        if curves:
            panels.append((dataset, run, curves))
            sources[f"figure9/{dataset}"] = [run.rel]
    if not panels:
        return None
    fig, axes = new_figure(1, len(panels))
    for ax, (dataset, run, curves) in zip(axes, panels):
        for i, (tag, points) in enumerate(curves.items()):
            steps, values = zip(*points)
            ax.plot(steps, values, color=color(i), label=tag[len(PREFIX):])
        ax.axhline(1.0, color="black", linewidth=0.5, linestyle="--")
        ax.set_xlabel("generator updates")
        ax.set_ylabel("spectral norm of the effective weight")
        ax.set_title(f"{dataset_label(dataset)}: {run.rel}", fontsize="small")
        ax.legend(fontsize="x-small", ncol=2)
    fig.suptitle("Figure 9: spectral norm of each D layer during training")
    path = f"{out_dir}/figure9.png"
    save_png(fig, path)
    return path
