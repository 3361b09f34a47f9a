"""The cluster path, run for real through hydra-submitit-launcher's local executor (``submitit_local``:
each job a process of its own under a submitit controller, as on SLURM): a job killed mid-run
resumes exactly when the sweep is rerun, and a job sent submitit's pre-emption signal (SIGUSR2)
checkpoints the step it reached and is requeued by submitit, ending exactly where an uninterrupted
run ends (training/guard.py StopRequest.hand_over)."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sngan_cli.run_dir import read_status
from tests.conftest import TINY

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")

STEPS = 40
RUN = ["train.steps=40", "train.ckpt_every=4", "train.sample_every=40", "train.log_every=1"]
SWEEP = ["-m", "hydra/launcher=submitit_local", *TINY, *RUN, "seed=0,1"]
RUNS = os.path.join("outputs", "digits", "cnn-spectral-standard-C")
# one thread per job: two jobs and the test share two cores (oversubscribed, a job runs 20x slower)
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


def _sngan(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "sngan_cli", *args], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _state(run_dir):
    ckpt = torch.load(os.path.join(run_dir, "checkpoints", "last.pt"), weights_only=True)
    return ckpt["step"], {**{f"G.{k}": v for k, v in ckpt["G"].items()}, **{f"D.{k}": v for k, v in ckpt["D"].items()}}


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Job seed=1 of the sweep, trained without interruption (same thread count)."""
    root = tmp_path_factory.mktemp("straight")
    proc = _sngan("train", *TINY, *RUN, "seed=1", f"hydra.run.dir={root / 'run'}", cwd=str(root))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return _state(str(root / "run"))


def _training_pid(run_dir, deadline_s=120):
    """The process training run_dir once it has written its first checkpoint of a trained step
    (the run lock names its holder), so that a signal finds it between steps, stop handling on."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        status = read_status(run_dir)
        if status and status.get("status") == "running" and status.get("step", 0) > 0:
            with open(os.path.join(run_dir, ".lock")) as f:
                return int(f.read().split()[1])  # "pid N on host"
        time.sleep(0.02)
    raise AssertionError(f"{run_dir} never checkpointed a step")


def _job_logs(root):
    logs = ""
    for folder, _, files in os.walk(os.path.join(root, "outputs", ".submitit")):
        for name in sorted(files):
            if name.endswith((".out", ".err")):
                with open(os.path.join(folder, name), errors="replace") as f:
                    logs += f.read()
    return logs


@pytest.mark.slow
def test_a_job_killed_mid_run_resumes_exactly_when_the_sweep_is_rerun(straight, tmp_path):
    killed = str(tmp_path / RUNS / "seed1")
    sweep = _sngan("train", *SWEEP, cwd=str(tmp_path))
    os.kill(_training_pid(killed), signal.SIGKILL)
    out, err = sweep.communicate(timeout=300)
    assert sweep.returncode != 0, out + err  # the sweep says it did not complete, in one line naming the run
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("sngan train: error: the sweep's launcher")
    assert err.strip().splitlines()[-1].count("seed1") == 1 and "seed0" not in err.strip().splitlines()[-1]
    assert read_status(str(tmp_path / RUNS / "seed0")) == {"status": "finished", "step": STEPS}
    status = read_status(killed)
    assert status["status"] == "running" and 0 < status["step"] < STEPS  # killed mid-run, nothing recorded

    rerun = _sngan("train", *SWEEP, cwd=str(tmp_path))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out + err
    logs = _job_logs(str(tmp_path))
    assert f"already trained to step {STEPS}" in logs  # seed0 is not trained again
    assert f"resuming {killed} from step {status['step']}" in logs
    assert read_status(killed) == {"status": "finished", "step": STEPS}
    step, weights = _state(killed)
    assert step == straight[0] == STEPS
    assert all(torch.equal(weights[k], straight[1][k]) for k in straight[1])


@pytest.mark.slow
def test_a_preempted_job_checkpoints_is_requeued_by_submitit_and_ends_exactly(straight, tmp_path):
    """SIGUSR2 is what SLURM sends signal_delay_s before the time limit (submitit's --signal) and,
    with send_user_signal, on pre-emption; the local executor's controller forwards it the same way."""
    preempted = str(tmp_path / RUNS / "seed1")
    sweep = _sngan("train", *SWEEP, cwd=str(tmp_path))
    os.kill(_training_pid(preempted), signal.SIGUSR2)
    out, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, out + err
    logs = _job_logs(str(tmp_path))
    stopped = [line for line in logs.splitlines() if "stopped by signal" in line]
    assert len(stopped) == 1 and f"signal {int(signal.SIGUSR2)} at step " in stopped[0] and preempted in stopped[0]
    at = int(stopped[0].split(" at step ")[1].split(";")[0])  # the step reached, checkpointed before anything else
    assert "this job is preempted" in logs and "Requeued job" in logs  # submitit's handler ran, after the checkpoint
    assert f"resuming {preempted} from step {at}" in logs  # the requeued job went on from the step reached
    assert read_status(preempted) == {"status": "finished", "step": STEPS}
    step, weights = _state(preempted)
    assert step == straight[0] == STEPS
    assert all(torch.equal(weights[k], straight[1][k]) for k in straight[1])
