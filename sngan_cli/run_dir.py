"""What a run directory holds: its files' names and its status record, the one place training, the
commands and the report take them from (a base module: it imports no other part of sngan but
atomic writes).

    <run dir>/.hydra/config.yaml       the run's config, as Hydra composed it
    <run dir>/checkpoints/last.pt      the last checkpoint (previous.pt the one before it)
    <run dir>/status.json              running | finished | failed | interrupted, and the step
    <run dir>/eval.json                sngan eval's result for G (eval_ema.json: G's moving average)
    <run dir>/metrics.jsonl            one result per periodic evaluation (metrics_summary.json: final, best)
    <run dir>/samples/step_NNNNNNN.png the sample grids
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional

from sngan_cli.atomic import atomic_write

HYDRA_CONFIG = os.path.join(".hydra", "config.yaml")
CHECKPOINTS = "checkpoints"
LAST, PREVIOUS = "last.pt", "previous.pt"
CHECKPOINT = os.path.join(CHECKPOINTS, LAST)
STATUS = "status.json"
EVAL = "eval.json"
EVAL_EMA = "eval_ema.json"  # the same of G's moving average (sngan eval g=ema)
METRICS = "metrics.jsonl"  # one result per evaluation during training
SUMMARY = "metrics_summary.json"  # the final, best-IS and best-FID results of those
SAMPLES = "samples"


def checkpoint_dir(run_dir: str) -> str:
    return os.path.join(run_dir, CHECKPOINTS)


def write_status(run_dir: str, status: str, step: int, error: Optional[str] = None) -> None:
    record = {"status": status, "step": step, **({"error": error} if error else {})}
    atomic_write(os.path.join(run_dir, STATUS), lambda f: f.write(json.dumps(record).encode()))


def read_status(run_dir: str) -> Optional[Dict]:
    try:
        with open(os.path.join(run_dir, STATUS)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
