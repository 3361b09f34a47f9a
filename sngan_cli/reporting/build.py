"""``sngan report``: every table and figure the runs under a directory support, written into one
output directory, with ``sources.json`` naming the run directories behind every cell and a list of
the runs that are missing from the numbers (failed, unfinished, not evaluated, duplicated seeds).

Datasets are reported separately (CIFAR-10, STL-10, then the others alphabetically): one section
per dataset in each table file, one panel per dataset in each figure.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from sngan_cli import SnganError
from sngan_cli.atomic import refuse_file_in_the_way
from sngan_cli.reporting import figure9, figure10, figures_1_2, figures_sweeps, table2, table7
from sngan_cli.reporting.methods import deviations, table7_row
from sngan_cli.reporting.paper import PAPER_DATASETS
from sngan_cli.reporting.render import Section, csv_text, latex, markdown, write_text
from sngan_cli.reporting.cells import FID, IS, number
from sngan_cli.reporting.runs import Run, eval_command, find_runs
from sngan_cli.run_dir import EVAL, EVAL_EMA
from sngan_cli.reporting.tables import Sources, Table


@dataclass
class Report:
    out_dir: str
    runs: List[Run]
    written: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)


def _dataset_rank(dataset: str) -> Tuple[int, str]:
    return (PAPER_DATASETS.index(dataset) if dataset in PAPER_DATASETS else len(PAPER_DATASETS), dataset)


def dataset_order(runs: List[Run]) -> Dict[str, List[Run]]:
    """Runs by dataset: CIFAR-10, STL-10, then the others alphabetically."""
    return {d: [r for r in runs if r.dataset == d] for d in sorted({r.dataset for r in runs}, key=_dataset_rank)}


def run_problems(run: Run) -> List[str]:
    """Why ``run`` adds no final number, or adds one that needs a caveat; empty when it is complete."""
    status = run.status or {}
    step = status.get("step", "?")
    at = status.get("step") if isinstance(status.get("step"), int) else None
    out = []
    if run.state == "failed":
        out.append(f"failed at step {step}: {status.get('error', 'no error recorded')}")
    elif run.eval is None and EVAL not in run.unreadable:
        out.append(f"{run.state} at step {step}, no {EVAL} ({eval_command(run.path)})")
    for name, result in ((EVAL, run.eval), (EVAL_EMA, run.eval_ema)):
        if result is None:
            continue
        if at is not None and result.get("step") not in (None, at):
            out.append(f"{name} is from step {result.get('step')} but the run is at step {at} "
                       f"({eval_command(run.path, ema=name == EVAL_EMA, overwrite=True)})")
        if name == EVAL:
            bad = [f"{key}={result.get(key)!r}" for key in (IS, FID) if number(result.get(key)) is None]
            if bad:
                out.append(f"{name} holds {' and '.join(bad)}: the run is left out of those columns")
    return out + run.problems


def _shown(run: Run) -> bool:
    """Whether some table or figure takes ``run`` (complete or not)."""
    return (not deviations(run) or table7_row(run) is not None
            or any(sweep.select(run) for sweep in figures_sweeps.SWEEPS))


def _write_tables(report: Report, name: str, heading: str, tables: List[Table], sections: List[Section]) -> None:
    for ext, text in (("md", markdown(heading, tables, sections)), ("csv", csv_text(tables)), ("tex", latex(tables))):
        path = os.path.join(report.out_dir, f"{name}.{ext}")
        write_text(path, text)
        report.written.append(path)


def write_report(root: str, out_dir: str) -> Report:
    if not os.path.isdir(root):
        raise SnganError(f"{root} is not a directory")
    runs = find_runs(root, skip=out_dir)
    if not runs:
        raise SnganError(f"no runs under {root}: a run directory holds .hydra/config.yaml, checkpoints/last.pt "
                         f"or status.json")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SnganError(f"out={out_dir} is a file, not a directory; give a directory for the report")
    refuse_file_in_the_way(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    report = Report(out_dir, runs)
    by_dataset = dataset_order([r for r in runs if r.config is not None])
    sources: Sources = {}
    duplicates: List[Run] = []
    excluded: List[Tuple[Run, str]] = []  # runs of another configuration than their cell's
    tables2, tables7, panels, absent, seeds, ema, ema_left_out = [], [], [], [], [], [], []
    for dataset, dataset_runs in by_dataset.items():
        assigned = table2.assignments(dataset_runs)
        table, dups, other = table2.build_table2(dataset, assigned, sources)
        tables2.append(table)
        duplicates += dups
        excluded += [(run, f"{dataset}: {why}") for run, why in other]
        panels.append(figures_1_2.panel(dataset, assigned))
        absent += [f"{dataset}: {line}" for line in table2.absent(assigned)]
        seeds += table2.seed_lines(dataset, assigned)
        lines, left_out = table2.ema_lines(dataset, assigned)
        ema += lines
        ema_left_out += left_out
        assigned7 = table7.assignments(dataset_runs)
        if table7.supported(assigned7):
            table, dups, other = table7.build_table7(dataset, assigned7, sources)
            tables7.append(table)
            duplicates += dups
            excluded += [(run, f"{dataset}: {why}") for run, why in other]

    report.missing = [f"{r.rel}: {p}" for r in runs for p in run_problems(r)]
    sections: List[Section] = []
    if seeds:
        sections.append(("Every method and setting with several seeds (final scores: mean ± std, 95% CI)", seeds))
    if ema:
        sections.append(("G's moving average (sngan eval g=ema): final scores G → G_ema, mean over the seeds "
                         "whose two evaluations share step and protocol, paired t-test over them", ema))
    if ema_left_out:
        sections.append(("Runs left out of G against G_ema", ema_left_out))
    sections.append(("Runs missing from the numbers", report.missing or ["none"]))
    if absent:
        sections.append(("Expected runs not found (from the grid of settings and seeds run)", absent))
    for sweep in figures_sweeps.SWEEPS:
        for dataset, dataset_runs in by_dataset.items():
            figures_sweeps.series(sweep, dataset_runs, sweep_excluded := [])
            excluded += [(run, f"{dataset}: {why}") for run, why in sweep_excluded]
    excluded_lines = sorted(f"{run.rel}: {why}" for run, why in excluded)
    if excluded_lines:
        sections.append(("Runs left out of a cell (another configuration than the cell's runs: only the seed and "
                         "keys that do not change G's numbers may differ)", excluded_lines))
    if duplicates:
        sections.append(("Duplicate seeds left out (another run of the same cell and seed was used)",
                         sorted({r.rel for r in duplicates})))
    not_shown = [f"{r.rel}: deviates in {', '.join(sorted(deviations(r)))}" for r in runs
                 if r.config is not None and not _shown(r)]
    if not_shown:
        sections.append(("Runs in no table or figure", not_shown))

    _write_tables(report, "table2", "Table 2: Inception score and FID", tables2, sections)
    if tables7:
        _write_tables(report, "table7", "Table 7: WGAN-GP with reparametrization", tables7, [])
    report.written += figures_1_2.write_figures_1_2(out_dir, panels, sources)
    for sweep in figures_sweeps.SWEEPS:
        path = figures_sweeps.write_sweep(out_dir, sweep, {d: figures_sweeps.series(sweep, rs)
                                                           for d, rs in by_dataset.items()}, sources)
        report.written += [path] if path else []
    for path in (figure9.write_figure9(out_dir, by_dataset, sources),
                 figure10.write_figure10(out_dir, by_dataset, sources)):
        report.written += [path] if path else []

    record = {"root": os.path.abspath(root), "cells": sources, "missing": report.missing,
              "duplicates": sorted({r.rel for r in duplicates}), "absent": absent, "not_shown": not_shown,
              "excluded": excluded_lines, "ema_left_out": ema_left_out}
    path = os.path.join(out_dir, "sources.json")
    write_text(path, json.dumps(record, indent=1, sort_keys=True))
    report.written.append(path)
    return report
