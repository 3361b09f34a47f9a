"""Shared fixtures: the real composed config, shrunk so runs take seconds on a CPU."""
from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from typing import List

import numpy as np
import pytest
import torch

from sngan_cli.config import compose

# tiny but complete: digits at 16 px, narrow networks, small batches
TINY = ["device=cpu", "dataset=digits", "dataset.resolution=16", "arch.width=0.125", "train.batch_size=8",
        "train.g_batch_size=8", "train.n_samples_grid=4", "train.log_every=2"]


def compose_train(overrides: List[str] = ()):
    return compose(overrides)


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory):
    """Caches (detector weights, statistics, torch hub) in a scratch directory, for this process and
    the sngan subprocesses the tests start."""
    root = tmp_path_factory.mktemp("caches")
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "TORCH_HOME", "SNGAN_INCEPTION_WEIGHTS")}
    os.environ.update(XDG_CACHE_HOME=str(root / "xdg"), TORCH_HOME=str(root / "torch"))
    os.environ.pop("SNGAN_INCEPTION_WEIGHTS", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same random state, whatever ran (or was collected) before it."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def tiny_cfg():
    return lambda *extra: compose_train(TINY + list(extra))


def run_sngan(*args: str, cwd: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run([sys.executable, "-m", "sngan_cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"sngan {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _trained_checkpoint(root, name: str, *extra: str) -> str:
    from sngan_cli.training.loop import train

    run_dir = root / name
    train(compose_train(TINY + ["train.steps=1", "train.ckpt_every=1", "train.sample_every=1", *extra]), str(run_dir))
    return str(run_dir / "checkpoints" / "last.pt")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A digits checkpoint of a tiny unconditional CNN, trained for one step."""
    return _trained_checkpoint(tmp_path_factory.getbasetemp(), "tiny-cnn")


@pytest.fixture(scope="session")
def tiny_conditional_checkpoint(tmp_path_factory):
    """A digits checkpoint of a tiny conditional ResNet (conditional BN + projection D)."""
    return _trained_checkpoint(tmp_path_factory.getbasetemp(), "tiny-resnet-cond", "arch=resnet", "arch.conditional=true")


@contextlib.contextmanager
def read_only(path):
    """``path`` (a directory) read-only for this process and its children: by permissions, or, for
    root (whom permissions do not stop), by a read-only bind mount; the test is skipped when neither
    works."""
    path = str(path)
    if os.geteuid() != 0:
        modes = {}
        for folder, dirs, _ in os.walk(path):
            modes[folder] = os.stat(folder).st_mode
            os.chmod(folder, 0o555)
        try:
            yield
        finally:
            for folder, mode in modes.items():
                os.chmod(folder, mode)
        return
    mounted = subprocess.run(["mount", "--bind", path, path], capture_output=True).returncode == 0
    if not mounted or subprocess.run(["mount", "-o", "remount,ro,bind", path], capture_output=True).returncode:
        if mounted:
            subprocess.run(["umount", path], capture_output=True)
        pytest.skip("cannot make a directory read-only here (root without mount)")
    try:
        yield
    finally:
        subprocess.run(["umount", path], check=True)
