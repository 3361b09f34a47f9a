"""A table of the report (Table 2, Table 7) as data: rows of text cells, each cell traceable to
the run directories behind it (``sources``), and the row builder shared by both tables: a method at
its best setting (highest mean final IS, as the paper reports), our final and best scores next to
the paper's, and whether its final scores differ from SN-GANs' over seeds (reporting/significance.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from sngan_cli.reporting.cells import DIGITS, FID, IS, MISSING, Cell, best_setting, by_setting, cell
from sngan_cli.reporting.paper import PaperScore, Row
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.significance import difference_text, welch

NOT_REPORTED = "n/a"
VERSUS = "vs SN-GANs (Welch)"
COLUMNS = ["method", "setting", "seeds", "IS final", "IS best", "IS paper", "FID final", "FID best", "FID paper",
           VERSUS]
REFERENCE_NORMS = ("spectral", "spectral_gamma")  # the SN-GANs row a method is compared with
# our columns: (column, metric, best over training?)
OUR_COLUMNS = (("IS final", IS, False), ("IS best", IS, True), ("FID final", FID, False), ("FID best", FID, True))

Sources = Dict[str, List[str]]  # "<table key>/<row key>/<column>" -> run directories


@dataclass
class TableRow:
    key: str
    cells: List[str]
    runs: List[str]  # every run directory behind the row's numbers


@dataclass
class Table:
    key: str  # prefix of its cells in sources.json, e.g. table2/cifar10
    dataset: str
    title: str
    notes: List[str]
    columns: List[str]
    rows: List[TableRow] = field(default_factory=list)


def paper_is(score: Optional[PaperScore]) -> str:
    if score is None or score.is_mean is None:
        return NOT_REPORTED
    return f"{score.is_mean:.2f}" + ("" if score.is_std is None else f" ± {score.is_std:.2f}")


def paper_fid(score: Optional[PaperScore]) -> str:
    if score is None or score.fid is None:
        return NOT_REPORTED
    return f"{score.fid:.1f}" + ("" if score.fid_std is None else f" ± {score.fid_std:.2f}")


@dataclass
class BuiltRow:
    row: TableRow
    notes: List[str]
    duplicates: List[Run]
    excluded: List[Tuple[Run, str]]  # runs of another configuration than their cell's, with why
    finals: Dict[str, Cell] = field(default_factory=dict)  # metric -> the final scores over seeds


def best_setting_row(table_key: str, row: Row, runs: List[Run], paper_dataset: str, sources: Sources) -> BuiltRow:
    """``row`` at its best setting among ``runs`` (all runs of the method, any setting)."""
    kept, duplicates, excluded = by_setting(runs)
    chosen = best_setting(kept)
    chosen_runs = kept.get(chosen, []) if chosen else []
    setting = MISSING if chosen is None else chosen if len(kept) == 1 else f"{chosen} (best of {len(kept)})"
    cells = {column: cell(chosen_runs, metric, best) for column, metric, best in OUR_COLUMNS}
    paper = row.paper.get(paper_dataset)
    texts = {column: cells[column].text(metric, with_steps=best) for column, metric, best in OUR_COLUMNS}
    used = sorted({run for column, _, _ in OUR_COLUMNS for run in cells[column].sources})
    for column, _, _ in OUR_COLUMNS:
        sources[f"{table_key}/{row.key}/{column}"] = cells[column].sources
    notes = [f"{row.label}: {row.note}"] if row.note else []
    excluded = [(run, f"{row.label}, setting {run.get('setting.name')}: {why}") for run, why in excluded]
    return BuiltRow(TableRow(row.key, [row.label, setting, seeds_text(cells, chosen_runs, kept), texts["IS final"],
                                       texts["IS best"], paper_is(paper), texts["FID final"], texts["FID best"],
                                       paper_fid(paper)], used),
                    notes, duplicates, excluded, {IS: cells["IS final"], FID: cells["FID final"]})


def seeds_text(cells: Dict[str, Cell], chosen_runs: List[Run], kept: Dict[str, List[Run]]) -> str:
    """``evaluated/runs`` at the chosen setting (``0/N`` over all settings when none is scored), and
    the count of each column whose number stands on fewer or more runs than the IS final's."""
    if not chosen_runs:
        return f"0/{sum(len(g) for g in kept.values())}"
    n = len(cells["IS final"].scores)
    others = [f"{column} {len(c.scores)}" for column, c in cells.items() if len(c.scores) != n]
    return f"{n}/{len(chosen_runs)}" + (f" ({', '.join(others)})" if others else "")


def reference_of(row: Row, rows: List[Row]) -> Optional[Row]:
    """The SN-GANs row ``row`` is compared with: the first spectrally normalized row of the same
    architecture (and the same number of updates) in the table."""
    return next((r for r in rows if r.norm in REFERENCE_NORMS and r.arch == row.arch and r.twice == row.twice), None)


def versus_text(row: Row, reference: Optional[Row], built: Dict[str, BuiltRow]) -> str:
    """Final IS and FID of ``row`` minus the reference's, each with Welch's p; n.s. where it does not hold."""
    if reference is None:
        return MISSING
    ours, theirs = built[row.key].finals, built[reference.key].finals
    if reference.key == row.key:
        return "reference" if ours[IS].scores else MISSING
    if not ours[IS].scores or not theirs[IS].scores:
        return MISSING
    return "; ".join(difference_text(name, welch(ours[m].values, theirs[m].values), DIGITS[m])
                     for name, m in (("IS", IS), ("FID", FID)))


def build_table(key: str, dataset: str, title: str, notes: List[str], rows: List[Tuple[Row, List[Run]]],
                paper_dataset: str, sources: Sources) -> Tuple[Table, List[Run], List[Tuple[Run, str]]]:
    """The table, and the runs it left out: duplicate seeds, and runs of another configuration than
    their cell's (with why)."""
    table = Table(key, dataset, title, list(notes), list(COLUMNS))
    duplicates: List[Run] = []
    excluded: List[Tuple[Run, str]] = []
    built: Dict[str, BuiltRow] = {}
    for row, runs in rows:
        built[row.key] = best_setting_row(key, row, runs, paper_dataset, sources)
        table.rows.append(built[row.key].row)
        table.notes += built[row.key].notes
        duplicates += built[row.key].duplicates
        excluded += built[row.key].excluded
    paper_rows = [row for row, _ in rows]
    for (row, _), table_row in zip(rows, table.rows):
        table_row.cells.append(versus_text(row, reference_of(row, paper_rows), built))
    return table, duplicates, excluded
