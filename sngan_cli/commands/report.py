"""``sngan report DIR [out=...]``: Table 2 (Markdown, CSV, LaTeX), Figures 1-2 and whatever else the
runs under DIR support (Table 7, Figures 4, 9, 10, 11), written into DIR/report/ with sources.json
naming the run directories behind every cell. See sngan_cli/reporting/build.py."""
from __future__ import annotations

import os
from typing import List, Tuple

from sngan_cli import SnganError
from sngan_cli.commands.options import Option, help_requested, parse_options, text, usage

SUMMARY = ("Walk the runs under DIR and write Table 2 (table2.md/.csv/.tex), Figures 1-2 (figure1.png: IS,\n"
           "figure2.png: FID, one panel per dataset) and what else the runs support (table7.*, figure4/9/10/11.png)\n"
           "into DIR/report/, with sources.json mapping every cell to its run directories.")
OPTIONS = {
    "out": Option(text, help="output directory (default DIR/report)"),
}


def split_dir(argv: List[str]) -> Tuple[str, List[str]]:
    """(DIR, the key=value arguments): DIR is the one argument without '='."""
    positional = [a for a in argv if "=" not in a]
    if len(positional) != 1:
        raise SnganError(f"give exactly one run directory DIR (got {len(positional)}): sngan report DIR [out=...]")
    return positional[0], [a for a in argv if "=" in a]


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("report", SUMMARY, OPTIONS, synopsis="DIR [out=OUT]"))
        return
    root, rest = split_dir(argv)
    out = parse_options(rest, OPTIONS)["out"] or os.path.join(root, "report")
    from sngan_cli.reporting.build import write_report  # matplotlib and torch load only when needed

    report = write_report(root, out)
    print(f"{len(report.runs)} run(s) under {root}; wrote:")
    for path in report.written:
        print(f"  {path}")
    if report.missing:
        print(f"{len(report.missing)} problem(s) with runs, listed in {os.path.join(out, 'table2.md')}:")
        for line in report.missing[:20]:
            print(f"  {line}")
        if len(report.missing) > 20:
            print(f"  ... and {len(report.missing) - 20} more")
