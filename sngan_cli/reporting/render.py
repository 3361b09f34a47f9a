"""Tables as Markdown, CSV (with a ``runs`` column naming the run directories behind each row) and
LaTeX; every file is written atomically."""
from __future__ import annotations

import csv
import io
from typing import List, Sequence, Tuple

from sngan_cli.atomic import atomic_write
from sngan_cli.reporting.tables import Table

Section = Tuple[str, List[str]]  # a heading and its bullet lines


def write_text(path: str, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(heading: str, tables: Sequence[Table], sections: Sequence[Section] = ()) -> str:
    out = [f"# {heading}", ""]
    for table in tables:
        out += [f"## {table.title}", ""] + [f"- {note}" for note in table.notes] + [""]
        out.append("| " + " | ".join(table.columns) + " |")
        out.append("|" + "---|" * len(table.columns))
        out += ["| " + " | ".join(_md_cell(c) for c in row.cells) + " |" for row in table.rows]
        out.append("")
    for title, lines in sections:
        out += [f"## {title}", ""] + [f"- {line}" for line in lines] + [""]
    return "\n".join(out)


def csv_text(tables: Sequence[Table]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if tables:
        writer.writerow(["dataset", *tables[0].columns, "runs"])
    for table in tables:
        for row in table.rows:
            writer.writerow([table.dataset, *row.cells, " ".join(row.runs)])
    return buffer.getvalue()


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "–": "--"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def latex(tables: Sequence[Table]) -> str:
    out = ["% written by `sngan report`; needs no package beyond LaTeX itself"]
    for table in tables:
        caption = tex_escape(table.title + ". " + " ".join(table.notes))
        out += [r"\begin{table}[ht]", r"\centering", rf"\caption{{{caption}}}",
                rf"\begin{{tabular}}{{l{'c' * (len(table.columns) - 1)}}}", r"\hline",
                " & ".join(tex_escape(c) for c in table.columns) + r" \\", r"\hline"]
        out += [" & ".join(tex_escape(c) for c in row.cells) + r" \\" for row in table.rows]
        out += [r"\hline", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)
