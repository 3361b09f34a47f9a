"""`sngan train` end to end, as a user runs it (a subprocess in a scratch directory)."""
import json
import os

import pytest
import torch
from PIL import Image

from tests.conftest import TINY, run_sngan

STEPS = ["train.steps=2", "train.ckpt_every=2", "train.sample_every=2"]


def test_train_writes_into_a_run_dir_derived_from_the_choices(tmp_path):
    run_sngan("train", *TINY, *STEPS, "norm=weight", "setting=B", "seed=3", "name=try1", cwd=str(tmp_path))
    run_dir = tmp_path / "outputs" / "digits" / "cnn-weight-standard-B" / "seed3-try1"
    assert (run_dir / "checkpoints" / "last.pt").exists()
    assert (run_dir / "samples" / "step_0000002.png").exists()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(run_dir))


def test_rerun_resumes_and_explicit_run_dir_is_honoured(tmp_path):
    run_dir = tmp_path / "mine"
    run_sngan("train", *TINY, *STEPS, f"hydra.run.dir={run_dir}", cwd=str(tmp_path))
    proc = run_sngan("train", *TINY, "train.steps=3", f"hydra.run.dir={run_dir}", cwd=str(tmp_path))
    assert "resuming" in proc.stdout + proc.stderr
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["step"] == 3


@pytest.mark.slow
def test_multirun_of_two_runs(tmp_path):
    run_sngan("train", "-m", *TINY, *STEPS, "norm=spectral,weight", cwd=str(tmp_path))
    root = tmp_path / "outputs" / "digits"
    for norm in ("spectral", "weight"):
        assert (root / f"cnn-{norm}-standard-C" / "seed0" / "checkpoints" / "last.pt").exists()


@pytest.mark.parametrize("override,expected", [
    ("train.steps=abc", "train.steps"),
    ("norm=spectrall", "Available options"),
    ("train.stepz=1", "stepz"),
    ("train.batch_size=0", "train.batch_size=0 is not allowed"),
    ("dataset.resolution=20", "dataset.resolution=20 does not fit arch=cnn"),
    ("name=../../escape", "not allowed"),
    ("name=" + "n" * 300, "at most 100"),
    ("setting=schema", "setting.name has no value"),
    ("norm=spectral norm.clip=0.05", "Key 'clip' not in 'SpectralConfig'"),
    ("arch.z_distribution=gaussian", "Invalid value 'gaussian', expected one of [normal, uniform]"),
    ("setting.lr=nan", "setting.lr=nan is not allowed: it must be a finite number"),
])
def test_bad_input_is_a_clean_error(override, expected, tmp_path):
    proc = run_sngan("train", *TINY, *STEPS, *override.split(" "), cwd=str(tmp_path), check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "outputs").exists()  # rejected before any work starts


def test_missing_dataset_is_one_line(tmp_path):
    proc = run_sngan("train", "dataset=cifar10", f"dataset.root={tmp_path}/none", "dataset.download=false",
                     cwd=str(tmp_path), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "cifar-10-python.tar.gz" in proc.stderr


@pytest.mark.slow
def test_a_run_failing_in_a_launcher_process_fails_the_sweep_and_only_this_sweep(tmp_path):
    """joblib runs each job in a worker process: the failure reaches the sweep through status.json.
    A failure recorded by an earlier sweep is not this sweep's."""
    joblib = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    proc = run_sngan("train", "-m", *joblib, *TINY, *STEPS, "dataset=digits,folder", f"dataset.root={tmp_path}/images",
                     cwd=str(tmp_path), check=False)
    assert proc.returncode == 1, proc.stderr
    folder = tmp_path / "outputs" / "folder" / "cnn-spectral-standard-C" / "seed0"
    assert "1 run(s) of the sweep failed" in proc.stderr
    assert f"{folder}: " in proc.stderr and "not a directory" in proc.stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"

    proc = run_sngan("train", "-m", *joblib, *TINY, *STEPS, "dataset=digits", "seed=0,1", cwd=str(tmp_path))
    assert "failed" not in proc.stderr  # folder's old failure is not this sweep's


@pytest.mark.slow
def test_a_failing_run_does_not_stop_the_sweep_and_a_rerun_retries_only_it(tmp_path):
    args = ["train", "-m", *TINY, *STEPS, "dataset=digits,folder", f"dataset.root={tmp_path}/images"]
    proc = run_sngan(*args, cwd=str(tmp_path), check=False)
    assert proc.returncode == 1
    assert "1 run(s) of the sweep failed" in proc.stderr
    root = tmp_path / "outputs"
    digits, folder = root / "digits" / "cnn-spectral-standard-C" / "seed0", root / "folder" / "cnn-spectral-standard-C" / "seed0"
    assert json.loads((digits / "status.json").read_text())["status"] == "finished"
    failed = json.loads((folder / "status.json").read_text())
    assert failed["status"] == "failed" and "not a directory" in failed["error"]

    (tmp_path / "images").mkdir()  # fix the cause, rerun the same sweep
    for i in range(8):
        Image.new("RGB", (20, 20), (i * 30, 0, 0)).save(tmp_path / "images" / f"{i}.png")
    proc = run_sngan(*args, cwd=str(tmp_path))
    log = proc.stdout + proc.stderr
    assert "already trained to step 2" in log and "finished " + str(folder) in log
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"


def test_the_config_that_trains_is_the_one_validated(tmp_path, monkeypatch):
    """precheck validates a copy composed before Hydra starts; Hydra composes the run's own copy, and
    that one must be validated too (a value could resolve otherwise the second time)."""
    from sngan_cli.commands import train as train_command
    from sngan_cli.training import loop

    validated, trained = [], []
    real_validate = train_command.validate
    monkeypatch.setattr(train_command, "validate", lambda cfg: validated.append(cfg) or real_validate(cfg))
    monkeypatch.setattr(loop, "train", lambda cfg, run_dir: trained.append(cfg))
    monkeypatch.chdir(tmp_path)
    train_command.main([*TINY, "train.steps=1", f"hydra.run.dir={tmp_path / 'run'}"])
    assert len(trained) == 1 and any(cfg is trained[0] for cfg in validated)
