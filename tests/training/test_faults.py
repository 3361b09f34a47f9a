"""Fault injection: a training process killed (SIGKILL) at random moments resumes on every rerun
with intact weights, and ends exactly where an uninterrupted run ends."""
import random
import subprocess
import sys
import time

import pytest
import torch

from sngan_cli.training.checkpoint import find_resumable
from sngan_cli.training.loop import train
from tests.conftest import TINY, compose_train


def _mtime(path):
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _state(ckpt):
    return {**{f"G.{k}": v for k, v in ckpt["G"].items()}, **{f"D.{k}": v for k, v in ckpt["D"].items()}}


@pytest.mark.parametrize("kills,steps", [pytest.param(3, 40, id="3-kills"),
                                         pytest.param(20, 600, id="20-kills", marks=pytest.mark.slow)])
def test_sigkill_at_random_moments_loses_nothing(kills, steps, tmp_path):
    overrides = [*TINY, f"train.steps={steps}", "train.ckpt_every=1", f"train.sample_every={steps}",
                 f"train.log_every={steps}"]
    run_dir = tmp_path / "killed"
    last = run_dir / "checkpoints" / "last.pt"
    rng = random.Random(kills)
    last_step = 0
    for _ in range(kills):
        before = _mtime(last)
        proc = subprocess.Popen([sys.executable, "-m", "sngan_cli", "train", *overrides, f"hydra.run.dir={run_dir}"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 90  # wait for this process's first checkpoint, then kill at a random moment
        while time.time() < deadline and _mtime(last) == before:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.kill()
        proc.wait()
        ckpt = find_resumable(str(run_dir / "checkpoints"))  # must never be truncated or missing once written
        if last_step:
            assert ckpt is not None and ckpt["step"] >= last_step
        last_step = ckpt["step"] if ckpt else 0
    assert last_step > 0, "no run lived long enough to checkpoint"

    train(compose_train(overrides), str(run_dir))
    train(compose_train(overrides), str(tmp_path / "straight"))
    resumed = find_resumable(str(run_dir / "checkpoints"))
    straight = find_resumable(str(tmp_path / "straight" / "checkpoints"))
    assert resumed["step"] == straight["step"] == steps
    a, b = _state(resumed), _state(straight)
    assert all(torch.equal(a[k], b[k]) for k in a)
