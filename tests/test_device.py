"""device= resolved once, for training and for every command (sngan_cli/device.py)."""
import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.device import resolve_device


def test_cpu_and_auto(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:free"])
def test_cuda_without_cuda_is_one_line(name, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SnganError, match=f"device={name} but no CUDA device is available; use device=auto or "):
        resolve_device(name)


def test_a_gpu_index_beyond_the_machine_s(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:free") == torch.device("cuda") and resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(SnganError, match="device=cuda:2 but this machine has 2 CUDA device"):
        resolve_device("cuda:2")


def test_the_commands_do_not_import_the_training_loop_for_it():
    import subprocess
    import sys

    commands = ", ".join(f"sngan_cli.commands.{c}" for c in ("sample", "stats", "bench", "export", "eval", "spectrum"))
    code = f"import sys, {commands}; print('sngan_cli.training.loop' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"
