"""Table 7 (Appendix E): WGAN-GP with and without the reparametrizations gamma * W_normalized (Eq. 32;
Frobenius, weight and spectral normalization), standard CNN and ResNet (with 1.5x feature maps in
D), our numbers next to the paper's CIFAR-10 ones."""
from __future__ import annotations

from typing import Dict, List, Tuple

from sngan_cli.reporting.methods import table7_row
from sngan_cli.reporting.paper import TABLE7, Row, dataset_label
from sngan_cli.reporting.records import protocol_notes
from sngan_cli.reporting.runs import Run
from sngan_cli.reporting.table2 import LEGEND
from sngan_cli.reporting.tables import Sources, Table, build_table

Assignments = List[Tuple[Row, List[Run]]]
SHARED_WITH_TABLE2 = "cnn_baseline"  # WGAN-GP on the standard CNN is also a Table 2 row


def assignments(runs: List[Run]) -> Assignments:
    rows: Dict[str, Tuple[Row, List[Run]]] = {row.key: (row, []) for row in TABLE7}
    for run in runs:
        row = table7_row(run)
        if row is not None:
            rows[row.key][1].append(run)
    return list(rows.values())


def supported(assigned: Assignments) -> bool:
    """Table 7 is written when a run of its own (not only Table 2's WGAN-GP) exists."""
    return any(runs for row, runs in assigned if row.key != SHARED_WITH_TABLE2)


def build_table7(dataset: str, assigned: Assignments, sources: Sources) -> Tuple[Table, List[Run]]:
    runs = [r for _, rs in assigned for r in rs]
    where = ("Paper: Table 7 of Miyato et al. (ICLR 2018), CIFAR-10." if dataset == "cifar10" else
             f"The paper's Table 7 is CIFAR-10 only: its numbers stand beside {dataset_label(dataset)} as the "
             f"reference ordering of the methods, not as targets.")
    notes = [LEGEND, where, *protocol_notes(runs)]
    return build_table(f"table7/{dataset}", dataset, f"Table 7, {dataset_label(dataset)}", notes, assigned,
                       "cifar10", sources)
