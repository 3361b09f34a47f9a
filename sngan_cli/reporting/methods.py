"""Which row of Table 2 or Table 7 a run belongs to, from its resolved config.

A Table 2 / Figures 1-2 run has the paper's architecture as-is; the ablations of Figure 4
(``arch.d_last_channels``), Table 7 (``arch.d_width``) and Figure 11 (``setting.n_dis`` other than
Table 1's value for the setting) are told apart by those keys. The "2x updates" rows are the runs
named ``2x`` (``experiment=table2_stl10_cnn_2x``).
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Dict, FrozenSet, Optional

from omegaconf import OmegaConf

from sngan_cli.reporting.paper import TABLE2, TABLE7, Row
from sngan_cli.reporting.runs import Run

D_LAST, D_WIDTH, N_DIS = "arch.d_last_channels", "arch.d_width", "setting.n_dis"
TWICE_NAME = "2x"


@lru_cache(maxsize=None)
def table1_n_dis() -> Dict[str, int]:
    """n_dis of each setting as shipped in conf/setting (Table 1), the one source of these numbers."""
    folder = resources.files("sngan_cli.conf").joinpath("setting")
    return {entry.name[:-5]: int(OmegaConf.create(entry.read_text()).n_dis)
            for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def deviations(run: Run) -> FrozenSet[str]:
    """The ablation keys in which ``run`` departs from the paper's Table 2 configuration."""
    found = set()
    if run.get(D_LAST) is not None:
        found.add(D_LAST)
    if float(run.get(D_WIDTH, 1.0)) != 1.0:
        found.add(D_WIDTH)
    default = table1_n_dis().get(str(run.get("setting.name")))
    if default is not None and run.get(N_DIS) != default:
        found.add(N_DIS)
    return frozenset(found)


def is_twice(run: Run) -> bool:
    return run.get("name") == TWICE_NAME


def matches(row: Row, run: Run) -> bool:
    return (row.norm is not None and run.get("arch.name") == row.arch and run.get("norm.name") == row.norm
            and run.get("loss.name") == row.loss and is_twice(run) == row.twice
            and float(run.get(D_WIDTH, 1.0)) == row.d_width)


def method_row(run: Run) -> Row:
    """The Table 2 method of ``run`` whatever its ablation keys (Figures 4 and 11 vary them)."""
    return next((row for row in TABLE2 if matches(row, run)), None) or other_row(run)


def table2_row(run: Run) -> Optional[Row]:
    """The Table 2 row of a paper-configured run, None for ablations and unlisted combinations."""
    if deviations(run):
        return None
    return next((row for row in TABLE2 if matches(row, run)), None)


def table7_row(run: Run) -> Optional[Row]:
    if deviations(run) - {D_WIDTH}:
        return None
    return next((row for row in TABLE7 if matches(row, run)), None)


def other_row(run: Run) -> Row:
    """A row for a paper-configured run of a combination no paper row has (e.g. norm=none)."""
    arch, norm, loss = run.get("arch.name"), run.get("norm.name"), run.get("loss.name")
    twice = is_twice(run)
    return Row(key=f"{arch}-{norm}-{loss}" + ("-2x" if twice else ""),
               label=f"{arch} / norm={norm} / loss={loss}" + (" (2x updates)" if twice else ""),
               arch=str(arch), norm=str(norm), loss=str(loss), twice=twice)
