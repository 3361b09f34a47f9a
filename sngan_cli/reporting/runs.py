"""The runs under a directory and what they recorded: resolved config, status, final evaluation
(``eval.json``) and periodic evaluations (``metrics.jsonl``), as written by ``sngan train`` and
``sngan eval``.

A run directory is one that holds ``.hydra/config.yaml``, ``checkpoints/last.pt`` or ``status.json``.
The config comes from ``.hydra/config.yaml`` (cheap) or else from the checkpoint.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from omegaconf import OmegaConf

from sngan_cli.config import get
from sngan_cli.training.guard import read_status

HYDRA_CONFIG = os.path.join(".hydra", "config.yaml")
CHECKPOINT = os.path.join("checkpoints", "last.pt")
STATUS = "status.json"
EVAL = "eval.json"
EVAL_EMA = "eval_ema.json"  # the same of G's moving average (sngan eval g=ema)
METRICS = "metrics.jsonl"  # one result per evaluation during training
SUMMARY = "metrics_summary.json"  # the final, best-IS and best-FID results of those


@dataclass
class Run:
    path: str  # absolute
    rel: str  # relative to the report's root: what sources.json and the tables name
    config: Optional[Dict[str, Any]]  # resolved; None when neither file could be read
    status: Optional[Dict[str, Any]]
    eval: Optional[Dict[str, Any]]
    metrics: List[Dict[str, Any]] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # unreadable files, said in the report
    eval_ema: Optional[Dict[str, Any]] = None

    def get(self, key: str, default: Any = None) -> Any:
        """A dotted config key (``arch.d_width``), or ``default`` when absent."""
        return get(self.config, key, default)

    @property
    def dataset(self) -> str:
        return str(self.get("dataset.name", "?"))

    @property
    def seed(self) -> Optional[int]:
        return self.get("seed")

    @property
    def state(self) -> str:
        """finished | running | failed | interrupted | unknown (no status.json)."""
        return str(self.status.get("status", "unknown")) if self.status else "unknown"


def is_run_dir(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, name)) for name in (HYDRA_CONFIG, CHECKPOINT, STATUS))


def _walk(root: str, skip: str) -> Iterator[str]:
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and os.path.abspath(os.path.join(dirpath, d)) != skip)
        if is_run_dir(dirpath):
            dirnames[:] = []  # a run's own sub-directories (checkpoints, samples) hold no runs
            yield dirpath


def _load_config(path: str, problems: List[str]) -> Optional[Dict[str, Any]]:
    hydra_file = os.path.join(path, HYDRA_CONFIG)
    if os.path.exists(hydra_file):
        try:
            return OmegaConf.to_container(OmegaConf.load(hydra_file), resolve=True)
        except Exception as e:  # a broken file must not hide the other runs
            problems.append(f"{HYDRA_CONFIG}: {type(e).__name__}: {e}")
    ckpt_file = os.path.join(path, CHECKPOINT)
    if os.path.exists(ckpt_file):
        try:
            import torch

            config = torch.load(ckpt_file, map_location="cpu", weights_only=True).get("config")
            if isinstance(config, dict):
                return config
            problems.append(f"{CHECKPOINT} holds no config")
        except Exception as e:
            problems.append(f"{CHECKPOINT}: {type(e).__name__}: {e}")
    return None


def _load_json(path: str, problems: List[str]) -> Optional[Dict[str, Any]]:
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{os.path.basename(path)}: {e}")
        return None


def _load_jsonl(path: str, problems: List[str]) -> List[Dict[str, Any]]:
    if not os.path.exists(path):
        return []
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except ValueError:  # a line cut short by a crash: keep the others
                    problems.append(f"{METRICS} line {number} is not JSON")
    return entries


def load_run(path: str, root: str) -> Run:
    problems: List[str] = []
    return Run(path=os.path.abspath(path), rel=os.path.relpath(path, root) if path != root else ".",
               config=_load_config(path, problems), status=read_status(path),
               eval=_load_json(os.path.join(path, EVAL), problems),
               metrics=_load_jsonl(os.path.join(path, METRICS), problems), problems=problems,
               eval_ema=_load_json(os.path.join(path, EVAL_EMA), problems))


def find_runs(root: str, skip: Optional[str] = None) -> List[Run]:
    """Every run under ``root`` (``root`` itself included), in path order; ``skip`` is not entered."""
    skip = os.path.abspath(skip) if skip else ""
    return [load_run(path, root) for path in _walk(root, skip)]
