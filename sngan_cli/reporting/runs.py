"""The runs under a directory and what they recorded: resolved config, status, final evaluation
(``eval.json``) and periodic evaluations (``metrics.jsonl``), as written by ``sngan train`` and
``sngan eval``.

A run directory is one that holds ``.hydra/config.yaml``, ``checkpoints/last.pt`` or ``status.json``.
The config comes from ``.hydra/config.yaml`` (cheap) or else from the checkpoint.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from omegaconf import OmegaConf

from sngan_cli.config import get
from sngan_cli.run_dir import CHECKPOINT, EVAL, EVAL_EMA, HYDRA_CONFIG, METRICS, STATUS



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
    unreadable: List[str] = field(default_factory=list)  # the files among them (EVAL, EVAL_EMA, ...)

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


# the top-level keys every run's config has (conf/train.yaml): without them a file is no run's config
CONFIG_KEYS = ("dataset", "arch", "norm", "loss", "setting", "train", "seed")


def _config_problem(config: Any) -> Optional[str]:
    if not isinstance(config, dict):
        return f"holds {_kind(config)}, not a config"
    absent = [k for k in CONFIG_KEYS if k not in config]
    return f"is no run's config (it has no {', '.join(absent)})" if absent else None


def _one_line(error: Exception) -> str:
    return f"{type(error).__name__}: " + " ".join(str(error).split())[:300]


def _load_config(path: str, problems: List[str]) -> Optional[Dict[str, Any]]:
    """The run's resolved config from .hydra/config.yaml, else from its checkpoint; None (and why,
    in ``problems``) when neither holds one."""
    found: List[str] = []
    hydra_file = os.path.join(path, HYDRA_CONFIG)
    if os.path.exists(hydra_file):
        try:
            config = OmegaConf.to_container(OmegaConf.load(hydra_file), resolve=True)
            problem = _config_problem(config)
            if problem is None:
                return config
            found.append(f"{HYDRA_CONFIG} {problem}")
        except Exception as e:  # a broken file must not hide the other runs
            found.append(f"{HYDRA_CONFIG}: {_one_line(e)}")
    ckpt_file = os.path.join(path, CHECKPOINT)
    if os.path.exists(ckpt_file):
        try:
            import torch

            checkpoint = torch.load(ckpt_file, map_location="cpu", weights_only=True)
            config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
            if config is not None and _config_problem(config) is None:
                problems.extend(found)  # the checkpoint's config stands in for the unreadable file
                return config
            found.append(f"{CHECKPOINT} holds no config")
        except Exception as e:
            found.append(f"{CHECKPOINT}: {_one_line(e)}")
    problems.append("; ".join(found or ["no config"]) + ": the run cannot be placed in any table")
    return None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _problem_of_entry(entry: Any) -> Optional[str]:
    """Why a result (a line of metrics.jsonl, eval.json) cannot be read as one, or None: it must be a
    JSON object whose ``record``, if any, is an object too."""
    if not isinstance(entry, dict):
        return f"holds {_kind(entry)}, not a JSON object"
    if "record" in entry and not isinstance(entry["record"], dict):
        return f"has a record that is {_kind(entry['record'])}, not a JSON object"
    return None


def _load_json(path: str, problems: List[str], unreadable: List[str], redo: str = "") -> Optional[Dict[str, Any]]:
    """The JSON object in ``path``; None when absent, or when unreadable (said in ``problems``, with
    ``redo``: the command that writes it again)."""
    if not os.path.exists(path):
        return None
    name = os.path.basename(path)
    try:
        with open(path) as f:
            value = json.load(f)
        problem = _problem_of_entry(value) if name != STATUS else (
            None if isinstance(value, dict) else f"holds {_kind(value)}, not a JSON object")
    except (OSError, ValueError) as e:
        problem = f"is unreadable ({' '.join(str(e).split())})"
    if problem is None:
        return value
    problems.append(f"{name} {problem}" + (f": {redo}" if redo else ""))
    unreadable.append(name)
    return None


def _load_jsonl(path: str, problems: List[str]) -> List[Dict[str, Any]]:
    if not os.path.exists(path):
        return []
    entries = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, ValueError) as e:
        problems.append(f"{METRICS} is unreadable ({e})")
        return []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short by a crash: keep the others
                problems.append(f"{METRICS} line {number} is not JSON")
                continue
            problem = _problem_of_entry(entry)
            if problem is None:
                entries.append(entry)
            else:
                problems.append(f"{METRICS} line {number} {problem}")
    return entries


def eval_command(run_dir: str, ema: bool = False, overwrite: bool = False) -> str:
    """The command that writes the run's eval.json (``ema``: eval_ema.json), as a shell takes it."""
    return " ".join(["sngan eval", shlex.quote(f"run={run_dir}"), *(["g=ema"] if ema else []),
                     *(["overwrite=true"] if overwrite else [])])


def load_run(path: str, root: str) -> Run:
    problems: List[str] = []
    unreadable: List[str] = []
    where = os.path.abspath(path)
    return Run(path=where, rel=os.path.relpath(path, root) if path != root else ".",
               config=_load_config(path, problems),
               status=_load_json(os.path.join(path, STATUS), problems, unreadable),
               eval=_load_json(os.path.join(path, EVAL), problems, unreadable,
                               redo=eval_command(where, overwrite=True)),
               metrics=_load_jsonl(os.path.join(path, METRICS), problems), problems=problems,
               eval_ema=_load_json(os.path.join(path, EVAL_EMA), problems, unreadable,
                                   redo=eval_command(where, ema=True, overwrite=True)),
               unreadable=unreadable)


def find_runs(root: str, skip: Optional[str] = None) -> List[Run]:
    """Every run under ``root`` (``root`` itself included), in path order; ``skip`` is not entered."""
    skip = os.path.abspath(skip) if skip else ""
    return [load_run(path, root) for path in _walk(root, skip)]
