import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.training import guard
from sngan_cli.training.guard import StopRequest, read_status, run_lock, write_status
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
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR2])
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


@pytest.fixture
def restored_signals():
    saved = {sig: signal.getsignal(sig) for sig in guard.STOP_SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_stop_signals_are_handed_over_to_a_launchers_handlers_in_order(restored_signals):
    """submitit's SIGUSR2 handler requeues the job: it runs once the checkpoint is saved, not mid-step.
    A SIGTERM after the SIGUSR2 (SLURM's at the time limit) neither loses it nor replaces it."""
    calls = []
    signal.signal(signal.SIGUSR2, lambda signum, frame: calls.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own: never called by hand_over
    with StopRequest() as stop:
        for sig in (signal.SIGUSR2, signal.SIGTERM, signal.SIGUSR2, signal.SIGINT):
            os.kill(os.getpid(), sig)
            time.sleep(0.01)
        assert calls == []  # only a request, while the step finishes
    assert stop.requested and stop.signal == signal.SIGUSR2  # the exit status is 128 + the first
    stop.hand_over()
    assert calls == [signal.SIGUSR2, signal.SIGTERM]  # each once, in order; not SIGINT's KeyboardInterrupt


def test_default_handlers_are_not_handed_over(restored_signals):
    for sig in guard.STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.01)
    assert stop.signal == signal.SIGUSR2
    stop.hand_over()  # SIG_DFL would end the process: not called
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL  # restored


def test_a_run_interrupted_and_not_requeued_fails_the_sweep(tmp_path, monkeypatch):
    """submitit's handler refuses to requeue a job that timed out max_num_timeout times; the job then
    ends as if done: the sweep must still say that run is not finished."""
    from omegaconf import OmegaConf

    monkeypatch.setattr(guard, "failed_runs", {})
    callback = guard.FailedRunsOfTheSweep()
    callback.on_multirun_start(None)
    for name, status in [("done", "finished"), ("stopped", "interrupted"), ("odd", None)]:
        (tmp_path / name).mkdir()
        if status:
            write_status(str(tmp_path / name), status, 7)
    (tmp_path / "odd" / "status.json").write_text('"x"')  # the wrong kind of JSON: skipped
    callback.on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert list(guard.failed_runs) == [str(tmp_path / "stopped")]
    assert "interrupted at step 7 and not requeued" in guard.failed_runs[str(tmp_path / "stopped")]


# A launcher's handler, as submitit installs one for SIGUSR2 before the task runs: it records what it
# finds on disk when it is called, then returns (submitit's would requeue the job and exit)
HANDED_OVER = """
import json, os, signal, sys
run_dir, marker = sys.argv[1], sys.argv[2]

def requeue(signum, frame):
    import torch
    ckpt = torch.load(os.path.join(run_dir, "checkpoints", "last.pt"), weights_only=True)
    with open(os.path.join(run_dir, "status.json")) as f:
        status = json.load(f)
    with open(marker, "a") as f:
        f.write(json.dumps({"signal": signum, "checkpoint_step": ckpt["step"], "status": status}) + "\\n")

signal.signal(signal.SIGUSR2, requeue)
from sngan_cli.cli import main
main(["train", *sys.argv[3:], "hydra.run.dir=" + run_dir])
"""


@pytest.mark.slow
def test_sigusr2_checkpoints_then_calls_the_launchers_handler_and_a_rerun_resumes(tmp_path):
    run_dir, marker = tmp_path / "run", tmp_path / "requeued.jsonl"
    overrides = [*TINY, "train.steps=100000", "train.ckpt_every=100000", "train.sample_every=100000", "train.log_every=1"]
    proc = subprocess.Popen([sys.executable, "-c", HANDED_OVER, str(run_dir), str(marker), *overrides], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("step 3/") or not line:
            break
    proc.send_signal(signal.SIGUSR2)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGUSR2, err
    step = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert 3 <= step < 100000 and f"stopped by signal {int(signal.SIGUSR2)} at step {step}" in err
    assert read_status(str(run_dir)) == {"status": "interrupted", "step": step}
    # called once, after the checkpoint of the step reached and the status were written
    assert [json.loads(line) for line in marker.read_text().splitlines()] == [
        {"signal": int(signal.SIGUSR2), "checkpoint_step": step, "status": {"status": "interrupted", "step": step}}]
    assert not (run_dir / "samples" / f"step_{step:07d}.png").exists()  # the stop forced no other chore

    proc = run_sngan("train", *TINY, f"train.steps={step + 1}", "train.ckpt_every=100000",
                     "train.sample_every=100000", f"hydra.run.dir={run_dir}", cwd=str(tmp_path))
    assert f"resuming {run_dir} from step {step}" in proc.stderr + proc.stdout
    assert read_status(str(run_dir)) == {"status": "finished", "step": step + 1}
