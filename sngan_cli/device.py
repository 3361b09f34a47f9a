"""The ``device=`` of a run or a command, resolved to a torch device once."""
from __future__ import annotations

import torch

from sngan_cli import SnganError


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU. ``cuda:free`` resolves to ``cuda`` here; training
    then claims a free GPU (training/distributed.claim_free_gpu)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SnganError(f"device={name} but no CUDA device is available; use device=auto or device=cpu")
    if name == "cuda:free":
        return torch.device("cuda")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise SnganError(f"device={name} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device
