"""The ``device=`` of a run or a command, resolved to a torch device once."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sngan_cli import SnganError

if TYPE_CHECKING:
    import torch


COMMAND_DEVICES = ("auto", "cpu", "cuda")  # device= of the commands other than train


def resolve_device(name: str) -> "torch.device":
    """``auto``: CUDA when available, else the CPU. ``cuda:free`` resolves to ``cuda`` here; training
    then claims a free GPU (training/distributed.claim_free_gpu)."""
    import torch  # imported here: the commands' options read COMMAND_DEVICES without it

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
