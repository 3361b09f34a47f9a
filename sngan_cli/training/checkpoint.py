"""Checkpoints: plain state dicts written atomically, loaded without executing code.

``last.pt`` is replaced only once its successor is complete on disk (temp file, fsync, rename); the
one it replaces is kept as ``previous.pt`` so a corrupt ``last.pt`` still leaves a good checkpoint.
"""
from __future__ import annotations

import os
import random
import warnings
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write

LAST, PREVIOUS = "last.pt", "previous.pt"


def save_checkpoint(state: Dict[str, Any], ckpt_dir: str) -> str:
    """Write ``last.pt``, keeping the one it replaces as ``previous.pt``."""
    last = os.path.join(ckpt_dir, LAST)
    atomic_write(last, lambda f: torch.save(state, f), keep_previous_as=os.path.join(ckpt_dir, PREVIOUS))
    return last


def load_checkpoint_file(path: str, device: str = "cpu") -> Dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise SnganError(f"checkpoint {path} does not exist") from None
    except Exception as e:
        raise SnganError(f"checkpoint {path} cannot be read safely ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    if not isinstance(ckpt, dict) or not {"step", "G", "D"} <= set(ckpt):
        raise SnganError(f"checkpoint {path} is not an sngan checkpoint (needs step, G, D)")
    return ckpt


def find_resumable(ckpt_dir: str, device: str = "cpu") -> Optional[Dict[str, Any]]:
    """The newest readable checkpoint in ckpt_dir (last.pt, else previous.pt), or None."""
    for name in (LAST, PREVIOUS):
        path = os.path.join(ckpt_dir, name)
        if not os.path.exists(path):
            continue
        try:
            return load_checkpoint_file(path, device)
        except SnganError as e:
            warnings.warn(f"{e}; trying the previous checkpoint")
    return None


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


def config_differences(saved: Dict[str, Any], current: Dict[str, Any], ignore=()) -> List[str]:
    """Flattened keys whose values differ, as 'key: saved -> current' lines."""
    def flatten(d, prefix=""):
        out = {}
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                out.update(flatten(v, key + "."))
            else:
                out[key] = v
        return out

    a, b = flatten(saved), flatten(current)
    return [f"{k}: {a.get(k, '<absent>')} -> {b.get(k, '<absent>')}"
            for k in sorted(set(a) | set(b)) if k not in ignore and a.get(k) != b.get(k)]
