"""The evaluation protocol behind a table's numbers, stated from the records the numbers carry
(Appendix B.1 of the paper; the README's Evaluation section): protocol, sample counts, splits,
reference split, detector, weights hash and code version. Numbers computed under different records
are not comparable, so every distinct record is listed with the count of evaluations that used it.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Tuple

from sngan_cli.reporting.runs import Run

RECORD_KEYS = ("protocol", "detector", "weights_sha256", "n_generated", "n_generated_fid", "n_real", "splits",
               "reference", "code_version")


def _key(record: Dict) -> Tuple:
    return tuple(record.get(k) for k in RECORD_KEYS)


def describe(record: Dict) -> str:
    sha = str(record.get("weights_sha256") or "?")[:8]
    n_fid = record.get("n_generated_fid") or record.get("n_generated", "?")
    return (f"protocol={record.get('protocol', '?')}: IS on {record.get('n_generated', '?')} generated images "
            f"in {record.get('splits', '?')} splits, FID of {n_fid} of them against {record.get('n_real', '?')} "
            f"real images of "
            f"{record.get('reference', '?')}; detector {record.get('detector', '?')} (weights sha256 {sha}...), "
            f"code {record.get('code_version', '?')}")


def summarize(records: Iterable[Dict]) -> List[str]:
    """One line per distinct record, most used first."""
    counts = Counter(_key(r) for r in records)
    return [f"{describe(dict(zip(RECORD_KEYS, key)))} ({n} evaluation{'s' if n > 1 else ''})"
            for key, n in counts.most_common()]


def protocol_notes(runs: List[Run]) -> List[str]:
    """What the final (eval.json) and the periodic (metrics.jsonl) evaluations of ``runs`` used."""
    final_records = [r.eval.get("record") or {} for r in runs if r.eval]
    periodic_records = [m.get("record") or {} for r in runs for m in r.metrics]
    final, periodic = summarize(final_records), summarize(periodic_records)
    notes = []
    if final:
        notes.append("Final evaluations (eval.json): " + "; ".join(final)
                     + (" -- MIXED PROTOCOLS: these numbers are not comparable" if len(final) > 1 else ""))
    if periodic:
        mixed = {_key(r) for r in periodic_records} != {_key(r) for r in final_records}
        notes.append("Periodic evaluations (metrics.jsonl, also used for best): " + "; ".join(periodic)
                     + (" -- best compares numbers of different protocols" if mixed and final else ""))
    return notes
