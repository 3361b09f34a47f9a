import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.training.guard import read_status, run_lock, write_status
from tests.conftest import TINY, run_sngan


def test_second_holder_of_a_run_is_refused(tmp_path):
    with run_lock(str(tmp_path)):
        with pytest.raises(SnganError, match="another process"):
            with run_lock(str(tmp_path)):
                pass
    with run_lock(str(tmp_path)):  # released on exit
        pass


def test_lock_of_a_killed_process_does_not_linger(tmp_path):
    code = ("import sys, time; from sngan_cli.training.guard import run_lock\n"
            f"with run_lock({str(tmp_path)!r}):\n    print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(SnganError, match="pid"):
        with run_lock(str(tmp_path)):
            pass
    proc.kill()
    proc.wait()
    with run_lock(str(tmp_path)):
        pass


def test_status_round_trip(tmp_path):
    write_status(str(tmp_path), "failed", 3, "boom")
    assert read_status(str(tmp_path)) == {"status": "failed", "step": 3, "error": "boom"}
    assert read_status(str(tmp_path / "none")) is None


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_a_checkpoint_then_rerun_resumes(sig, tmp_path):
    run_dir = tmp_path / "run"
    args = [sys.executable, "-m", "sngan_cli", "train", *TINY, "train.steps=100000", "train.ckpt_every=100000",
            "train.sample_every=100000", "train.log_every=1", f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("step 3/"):
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "checkpoint saved" in err
    ckpt = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert 3 <= ckpt["step"] < 100000
    assert read_status(str(run_dir))["status"] == "interrupted"
    step = ckpt["step"]
    proc = run_sngan("train", *TINY, f"train.steps={step + 1}", "train.ckpt_every=100000",
                     "train.sample_every=100000", f"hydra.run.dir={run_dir}", cwd=str(tmp_path))
    assert f"resuming {run_dir} from step {step}" in proc.stderr + proc.stdout
    assert read_status(str(run_dir)) == {"status": "finished", "step": step + 1}
