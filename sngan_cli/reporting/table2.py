"""Table 2: Inception score and FID of every method on each dataset, each method at its best
setting, our final and best numbers next to the paper's (Sec. 4.1 of the paper). Runs of combinations the
paper has no row for (e.g. ``norm=none``) get rows of their own after the paper's.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from sngan_cli.reporting.cells import DIGITS, FID, IS, by_setting, cell, format_interval, format_mean_std, number
from sngan_cli.reporting.methods import deviations, other_row, table2_row, table7_row
from sngan_cli.reporting.paper import PAPER_DATASETS, TABLE2, Row, dataset_label, paper_dataset
from sngan_cli.reporting.records import RECORD_KEYS, protocol_notes
from sngan_cli.reporting.runs import Run, eval_command
from sngan_cli.run_dir import EVAL, EVAL_EMA
from sngan_cli.reporting.significance import paired
from sngan_cli.reporting.tables import Sources, Table, build_table

Assignments = List[Tuple[Row, List[Run]]]

LEGEND = ("Ours: IS as the paper gives it, mean ± std over the 10 splits of a run's images (averaged over seeds), "
          "then (seeds ± s): the sample std over seeds (n-1) when there are several; FID: mean ± sample std over "
          "seeds (no ± with one seed). final = eval.json at the end of "
          "training; best = highest IS / lowest FID over the periodic evaluations (metrics.jsonl) and eval.json, "
          "@ the step of each seed's best. setting = the one with the highest mean final IS among those run. "
          "seeds = seeds evaluated / runs at that setting. With several seeds, 95% CI = the 95% confidence "
          "interval of the mean over seeds (Student's t). vs SN-GANs: final IS and FID minus SN-GANs' (same "
          "architecture, each at its best setting), with the p-value of Welch's two-sided t-test over seeds; "
          "n.s. = the difference does not hold (p ≥ 0.05); ? = fewer than two seeds on a side. "
          "— = no run or no evaluation (listed below); n/a = not reported in the paper.")


def assignments(runs: List[Run]) -> Assignments:
    """Every paper row (with its runs, possibly none), then rows for unlisted combinations."""
    rows: Dict[str, Tuple[Row, List[Run]]] = {row.key: (row, []) for row in TABLE2}
    for run in runs:
        row = table2_row(run)
        if row is None and not deviations(run) and table7_row(run) is None:
            row = other_row(run)
            rows.setdefault(row.key, (row, []))
        if row is not None:
            rows[row.key][1].append(run)
    return list(rows.values())


def paper_note(dataset: str) -> str:
    if dataset in PAPER_DATASETS:
        return f"Paper: Table 2 of Miyato et al. (ICLR 2018), {dataset_label(dataset)}."
    return (f"The paper did not use {dataset_label(dataset)}: the paper's columns hold its CIFAR-10 numbers, "
            f"shown as the reference ordering of the methods, not as targets.")


def build_table2(dataset: str, assigned: Assignments, sources: Sources) -> Tuple[Table, List[Run]]:
    runs = [r for _, rs in assigned for r in rs]
    notes = [LEGEND, paper_note(dataset), *protocol_notes(runs)]
    return build_table(f"table2/{dataset}", dataset, f"Table 2, {dataset_label(dataset)}", notes, assigned,
                       paper_dataset(dataset), sources)


def seed_lines(dataset: str, assigned: Assignments) -> List[str]:
    """Every method and setting with several seeds: mean, std and 95% interval of the final IS and FID."""
    lines = []
    for row, runs in assigned:
        for setting, kept in by_setting(runs)[0].items():
            cells = {m: cell(kept, m) for m in (IS, FID)}
            if len(cells[IS].scores) < 2 and len(cells[FID].scores) < 2:
                continue
            parts = [f"{name} {format_mean_std(c.mean, c.std, DIGITS[m])}"
                     + (f" (95% CI {format_interval(c.interval, DIGITS[m])})" if c.interval else "")
                     + f", {seeds(len(c.scores))}"
                     for name, m, c in (("IS", IS, cells[IS]), ("FID", FID, cells[FID])) if c.scores]
            lines.append(f"{dataset}: {row.label}, setting {setting}: " + "; ".join(parts))
    return lines


EMA_METRICS = ((IS, "IS", 2), (FID, "FID", 1), ("kid_mean", "KID", 0), ("precision", "precision", 3),
               ("recall", "recall", 3))


def seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


# what G's and G_ema's evaluations of a run must share to be compared: the step, and the protocol,
# sample counts, splits, reference and detector of their records (reporting/records.py)
PAIRED_RECORD_KEYS = tuple(k for k in RECORD_KEYS if k != "code_version")


def ema_pair_problem(run: Run) -> Optional[str]:
    """Why ``run``'s eval.json and eval_ema.json cannot be compared (None when they can), with the
    command that scores the stale one again."""
    g, ema = run.eval, run.eval_ema
    if g is None:
        return f"eval_ema.json has no {EVAL} to compare with ({eval_command(run.path)})"
    g_step, ema_step = g.get("step"), ema.get("step")
    if g_step != ema_step:
        older_is_ema = isinstance(g_step, int) and (not isinstance(ema_step, int) or ema_step < g_step)
        return (f"{EVAL} is from step {g_step}, {EVAL_EMA} from step {ema_step} "
                f"({eval_command(run.path, ema=older_is_ema, overwrite=True)})")
    g_record, ema_record = g.get("record") or {}, ema.get("record") or {}
    different = [k for k in PAIRED_RECORD_KEYS if g_record.get(k) != ema_record.get(k)]
    if different:
        return (f"{EVAL} and {EVAL_EMA} were scored otherwise: "
                + ", ".join(f"{k} {g_record.get(k)!r} and {ema_record.get(k)!r}" for k in different)
                + f" (score G_ema as G was: {eval_command(run.path, ema=True, overwrite=True)} with G's options)")
    return None


def ema_lines(dataset: str, assigned: Assignments) -> Tuple[List[str], List[str]]:
    """Every method and setting whose runs were also scored with G's moving average (eval_ema.json):
    the mean final scores of G and of G_ema over the runs whose two evaluations are of the same step
    and protocol, each metric with the number of runs it stands on and a paired t-test's p (2+ runs);
    and the runs left out, with why."""
    lines, left_out = [], []
    for row, runs in assigned:
        for setting, kept in by_setting(runs)[0].items():
            pairs = []
            for run in (r for r in kept if r.eval_ema):
                problem = ema_pair_problem(run)
                if problem is None:
                    pairs.append(run)
                else:
                    left_out.append(f"{dataset}: {run.rel}: {problem}")
            parts = []
            for key, name, digits in EMA_METRICS:
                both = [(g, ema) for r in pairs
                        if (g := number(r.eval.get(key))) is not None and (ema := number(r.eval_ema.get(key))) is not None]
                if not both:
                    continue
                g, ema = [b[0] for b in both], [b[1] for b in both]
                test = paired(ema, g)
                p = "" if test is None else f"p {test.p:.2f}, "
                parts.append(f"{name} {sum(g) / len(g):.{digits}f} → {sum(ema) / len(ema):.{digits}f} "
                             f"({p}{seeds(len(both))})")
                left_out += [f"{dataset}: {r.rel}: {name} of G or G_ema is not a finite number"
                             for r in pairs if number(r.eval.get(key)) is None or number(r.eval_ema.get(key)) is None
                             if key in r.eval or key in r.eval_ema]
            if parts:
                lines.append(f"{dataset}: {row.label}, setting {setting}, {len(pairs)} of {len(kept)} "
                             f"{'seed' if len(kept) == 1 else 'seeds'} scored both ways: " + "; ".join(parts))
    return lines, left_out


def absent(assigned: Assignments) -> List[str]:
    """Setting/seed combinations missing from a partly run grid: within each family of rows (same
    architecture, same number of updates), every row with runs is expected at every setting and seed
    that any row of the family has."""
    families: Dict[Tuple[str, bool], List[Tuple[Row, List[Run]]]] = {}
    for row, runs in assigned:
        if runs:
            families.setdefault((row.arch, row.twice), []).append((row, runs))
    lines = []
    for members in families.values():
        settings = sorted({str(r.get("setting.name")) for _, runs in members for r in runs})
        seeds = sorted({r.seed for _, runs in members for r in runs}, key=str)
        for row, runs in members:
            have = {(str(r.get("setting.name")), r.seed) for r in runs}
            lines += [f"{row.label}, setting {s}, seed {k}: no run found"
                      for s in settings for k in seeds if (s, k) not in have]
    return lines
