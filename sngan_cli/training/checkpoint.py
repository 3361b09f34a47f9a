"""Checkpoints: plain state dicts written atomically, loaded without executing code.

``last.pt`` is replaced only once its successor is complete on disk (temp file, fsync, rename); the
one it replaces is kept as ``previous.pt`` so a corrupt ``last.pt`` still leaves a good checkpoint.
A checkpoint that cannot be read is never overwritten: a run falls back to ``previous.pt`` and moves
the unreadable file aside (``last.pt.unreadable``), and with no readable checkpoint at all it refuses
to start rather than begin again from step 0.
"""
from __future__ import annotations

import os
import pickle
import random
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write
from sngan_cli.config import plain
from sngan_cli.run_dir import LAST, PREVIOUS

UNREADABLE = ".unreadable"  # suffix of a checkpoint moved aside because it could not be read


def save_checkpoint(state: Dict[str, Any], ckpt_dir: str) -> str:
    """Write ``last.pt``, keeping the one it replaces as ``previous.pt``. Its ``config`` is stored as
    plain values (closed choices by name: config.plain), which ``weights_only`` loading reads."""
    if "config" in state:
        state = {**state, "config": plain(state["config"])}
    last = os.path.join(ckpt_dir, LAST)
    atomic_write(last, lambda f: torch.save(state, f), keep_previous_as=os.path.join(ckpt_dir, PREVIOUS))
    return last


def _why_unreadable(error: BaseException) -> str:
    """One line saying why torch.load failed, without torch's advice to load with weights_only=False."""
    if isinstance(error, pickle.UnpicklingError) or "Weights only load failed" in str(error):
        detail = [line.strip() for line in str(error).splitlines() if line.strip() and not line.startswith(
            ("Weights only load failed", "Check the documentation", "Please file an issue"))]
        reason = detail[0] if detail else "objects other than tensors and plain containers"
        return (f"not a file of tensors and plain containers: {reason[:200]}; sngan never runs code from a "
                f"checkpoint, so it cannot be used")
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0][:200] if lines else 'the file is empty or truncated'}"


def load_checkpoint_file(path: str, device: str = "cpu") -> Dict[str, Any]:
    if os.path.isdir(path):
        raise SnganError(f"checkpoint {path} is a directory, not a checkpoint file")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise SnganError(f"checkpoint {path} does not exist") from None
    except Exception as e:
        raise SnganError(f"checkpoint {path} cannot be read safely ({_why_unreadable(e)})") from None
    if not isinstance(ckpt, dict) or not {"step", "G", "D"} <= set(ckpt):
        raise SnganError(f"checkpoint {path} is not an sngan checkpoint (needs step, G, D)")
    return ckpt


def find_resumable(ckpt_dir: str, device: str = "cpu", quarantine: bool = False) -> Optional[Dict[str, Any]]:
    """The newest readable checkpoint in ckpt_dir (last.pt, else previous.pt), or None when there is none.

    A checkpoint file that exists but cannot be read is an error unless an older one can be read: a
    run must not start again from step 0 and overwrite it. With ``quarantine`` (the process that
    goes on to write checkpoints), an unreadable ``last.pt`` behind a readable ``previous.pt`` is
    renamed ``last.pt.unreadable``, so the next checkpoint does not rotate it into ``previous.pt``
    in place of the good one.
    """
    unreadable: List[Tuple[str, str]] = []
    for name in (LAST, PREVIOUS):
        path = os.path.join(ckpt_dir, name)
        if not os.path.lexists(path):
            continue
        try:
            ckpt = load_checkpoint_file(path, device)
        except SnganError as e:
            unreadable.append((path, str(e)))
            continue
        for bad, why in unreadable:
            moved = _move_aside(bad) if quarantine else None
            warnings.warn(f"{why}; resuming from {path} (step {ckpt['step']})"
                          + (f"; the unreadable file is kept as {moved}" if moved else ""))
        return ckpt
    if unreadable:
        raise SnganError(f"{unreadable[0][1]}; {ckpt_dir} holds no readable checkpoint and this run will not start "
                         f"again from step 0 over it: rerun once the file reads again (a transient error, a file from "
                         f"a newer torch), or move {' and '.join(p for p, _ in unreadable)} elsewhere to start afresh, "
                         f"or choose another name=...")
    return None


def _move_aside(path: str) -> str:
    """Rename an unreadable checkpoint to ``<name>.unreadable`` (``.unreadable.1``, ... if taken)."""
    target, n = path + UNREADABLE, 0
    while os.path.lexists(target):
        n += 1
        target = f"{path}{UNREADABLE}.{n}"
    os.replace(path, target)
    return target


def load_weights(module: torch.nn.Module, state: Dict[str, Any], path: str, what: str) -> None:
    """``module.load_state_dict(state)``; a mismatch (a config edited after training) names the file."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise SnganError(f"checkpoint {path}: its {what} weights do not fit the network its config describes "
                         f"(was the config edited?): {_mismatch(e)}") from None


def _mismatch(error: Exception, limit: int = 300) -> str:
    """What ``load_state_dict`` found wrong, on one line: its heading ("Error(s) in loading state_dict
    for Generator:") says nothing by itself, the lines after it (missing keys, size mismatches) do."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    if lines[0].startswith("Error(s) in loading state_dict") and len(lines) > 1:
        lines = lines[1:]
    text = "; ".join(lines)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": list(random.getstate()[1]),
    }


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    random.setstate((3, tuple(state["python"]), None))
