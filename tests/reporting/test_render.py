"""Markdown, CSV and LaTeX renderings of a table."""
from __future__ import annotations

import csv
import io

from sngan_cli.reporting.render import csv_text, latex, markdown, tex_escape
from sngan_cli.reporting.tables import Table, TableRow


def _table():
    return Table("table2/cifar10", "cifar10", "Table 2, CIFAR-10", ["a note with 50% & more"], ["method", "IS"],
                 [TableRow("sn_gan", ["SN_GANs | x", "7.20 ± 0.20"], ["r/seed0", "r/seed1"])])


def test_csv_names_the_runs_of_each_row():
    rows = list(csv.reader(io.StringIO(csv_text([_table()]))))
    assert rows == [["dataset", "method", "IS", "runs"], ["cifar10", "SN_GANs | x", "7.20 ± 0.20", "r/seed0 r/seed1"]]


def test_markdown_escapes_pipes_and_lists_sections():
    md = markdown("Table 2", [_table()], [("Missing", ["r/seed2: failed"])])
    assert "| SN_GANs \\| x | 7.20 ± 0.20 |" in md and "- r/seed2: failed" in md and "- a note with 50% & more" in md


def test_latex_escapes():
    assert tex_escape("a_b 50% & ± —") == r"a\_b 50\% \& $\pm$ ---"
    tex = latex([_table()])
    assert r"SN\_GANs | x & 7.20 $\pm$ 0.20 \\" in tex and r"50\% \& more" in tex
