"""Figure 4 (IS against the channel count of D's last conv layer, ``arch.d_last_channels``, STL-10,
setting C) and Figure 11 (IS against n_dis under setting D): final IS per method along one config
value, mean over seeds with a band of +/- one sample std, one panel per dataset.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from sngan_cli.reporting.cells import IS, cell, distinct_seeds, group_by, one_configuration
from sngan_cli.reporting.methods import D_LAST, N_DIS, deviations, method_row
from sngan_cli.reporting.paper import dataset_label
from sngan_cli.reporting.plotting import color, new_figure, save_png
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.tables import Sources


@dataclass(frozen=True)
class Sweep:
    figure: str
    title: str
    x_key: str
    xlabel: str
    log2_x: bool
    select: Callable[[Run], bool]
    label: Callable[[Run], str]


def _figure4_run(run: Run) -> bool:
    return run.get("arch.name") == "cnn" and deviations(run) == {D_LAST}


def _figure11_run(run: Run) -> bool:
    return run.get("arch.name") == "cnn" and run.get("setting.name") == "D" and deviations(run) <= {N_DIS}


SWEEPS = (
    Sweep("figure4", "Figure 4: IS against D's last-layer channels", D_LAST,
          "channels of D's last conv layer (arch.d_last_channels)", True, _figure4_run,
          lambda r: f"{method_row(r).label}, setting {r.get('setting.name')}"),
    Sweep("figure11", "Figure 11: IS against n_dis, setting D", N_DIS,
          "n_dis (D updates per G update)", False, _figure11_run, lambda r: method_row(r).label),
)


Series = Dict[str, Dict[float, List[Run]]]  # method label -> x -> one run per seed


def series(sweep: Sweep, runs: List[Run], excluded: Optional[List[Tuple[Run, str]]] = None) -> Series:
    """Each method's runs along the axis: one configuration but for the axis' key (the others go to
    ``excluded``, with why), one run per seed at each value."""
    out: Series = {}
    for label, group in group_by([r for r in runs if sweep.select(r)], sweep.label).items():
        group, other = one_configuration(group, ignore=(sweep.x_key,))
        if excluded is not None:
            excluded.extend((run, f"{sweep.figure}, {label}: {why}") for run, why in other)
        out[label] = {x: distinct_seeds(g)[0] for x, g in sorted(group_by(group, lambda r: r.get(sweep.x_key)).items())}
    return out


def supported(data: Series) -> bool:
    """A sweep figure needs some method with at least two values along the axis."""
    return any(len(by_x) >= 2 for by_x in data.values())


def write_sweep(out_dir: str, sweep: Sweep, panels: Dict[str, Series], sources: Sources) -> Optional[str]:
    panels = {d: s for d, s in panels.items() if supported(s)}
    if not panels:
        return None
    fig, axes = new_figure(1, len(panels))
    for ax, (dataset, data) in zip(axes, panels.items()):
        for i, (label, by_x) in enumerate(data.items()):
            points = []
            for x, group in by_x.items():
                c = cell(group, IS)
                sources[f"{sweep.figure}/{dataset}/{label}/{x}"] = c.sources
                if c.mean is not None:
                    points.append((x, c.mean, c.std or 0.0))
            if not points:
                continue
            xs, means, stds = zip(*points)
            ax.plot(xs, means, marker="o", color=color(i), label=label)
            ax.fill_between(xs, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                            color=color(i), alpha=0.2)
        if sweep.log2_x:
            ax.set_xscale("log", base=2)
        ax.set_xlabel(sweep.xlabel)
        ax.set_ylabel("Inception score (final)")
        ax.set_title(dataset_label(dataset))
        ax.legend(fontsize="small")
    fig.suptitle(f"{sweep.title} (band: ± std over seeds)", fontsize="medium")
    path = f"{out_dir}/{sweep.figure}.png"
    save_png(fig, path)
    return path
