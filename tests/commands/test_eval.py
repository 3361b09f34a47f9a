"""`sngan eval` and `sngan stats` end to end: a digits checkpoint, an image folder, the Inception
path with a weights file given by path, and the clear message when the weights are missing."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sngan_cli.commands import eval as eval_command
from sngan_cli.commands import sample
from sngan_cli.metrics.stats_cache import load_reference_stats
from tests.conftest import run_sngan


def test_eval_of_a_digits_checkpoint_writes_eval_json_and_tensorboard(tiny_checkpoint, capsys):
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=64", "device=cpu"])
    run_dir = os.path.dirname(os.path.dirname(tiny_checkpoint))
    result = json.load(open(os.path.join(run_dir, "eval.json")))
    assert result["inception_score_mean"] >= 1.0 - 1e-9 and np.isfinite(result["fid"]) and result["fid"] > 0
    assert result["step"] == 1
    record = result["record"]
    assert record["detector"] == "digits-classifier" and record["n_generated"] == 64
    assert record["n_generated_is"] == 64 and record["n_generated_fid"] == 64
    assert record["n_real"] == 1797 and record["reference"] == "digits/train" and record["protocol"] == "paper"
    assert len(record["weights_sha256"]) == 64 and record["splits"] == 10
    acc = EventAccumulator(run_dir)
    acc.Reload()
    assert acc.Scalars("metrics/IS")[-1].value == pytest.approx(result["inception_score_mean"], rel=1e-6)
    assert acc.Scalars("metrics/FID")[-1].step == 1


def test_a_folder_of_the_same_images_gets_the_same_numbers(tiny_checkpoint, tmp_path, capsys):
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=64", "device=cpu", "batch_size=17"])
    from_checkpoint = json.loads(capsys.readouterr().out.rsplit("\nwrote", 1)[0])
    sample.main([f"ckpt={tiny_checkpoint}", "n=64", f"out={tmp_path / 'png'}", "device=cpu"])
    capsys.readouterr()
    eval_command.main([f"images={tmp_path / 'png'}", "reference=digits", "resolution=16", "device=cpu"])
    from_folder = json.loads(capsys.readouterr().out)
    for key in ("inception_score_mean", "inception_score_std", "fid"):
        assert from_folder[key] == pytest.approx(from_checkpoint[key], rel=1e-9), key


def _write_folder(path, n, seed):
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize((32, 32), Image.BILINEAR).save(path / f"{i:03d}.png")


@pytest.mark.slow
def test_inception_path_with_weights_by_path(tmp_path):
    from sngan_cli.metrics.tf_inception import TFInception

    torch.manual_seed(0)
    weights = tmp_path / "random-inception.pth"
    torch.save(TFInception().state_dict(), weights)
    _write_folder(tmp_path / "gen", 12, 1)
    _write_folder(tmp_path / "real", 12, 2)
    proc = run_sngan("eval", f"images={tmp_path / 'gen'}", f"reference={tmp_path / 'real'}",
                     f"inception_weights={weights}", "device=cpu", cwd=str(tmp_path))
    result = json.loads(proc.stdout)
    assert result["record"]["detector"] == "inception" and result["record"]["n_real"] == 12
    assert np.isfinite(result["fid"]) and result["inception_score_mean"] >= 1.0


def test_missing_inception_weights_is_one_clear_message(tmp_path):
    _write_folder(tmp_path / "gen", 2, 1)
    proc = run_sngan("eval", f"images={tmp_path / 'gen'}", f"reference={tmp_path / 'gen'}", "device=cpu",
                     cwd=str(tmp_path), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    for needle in ("pt_inception-2015-12-05-6726825d.pth", "6726825d", "SNGAN_INCEPTION_WEIGHTS",
                   "eval.inception_weights", "https://"):
        assert needle in proc.stderr, needle


def test_stats_precomputes_readable_statistics(capsys):
    from sngan_cli.commands import stats

    stats.main(["dataset=digits", "dataset.resolution=16", "device=cpu"])
    path = capsys.readouterr().out.split(":")[0]
    loaded = load_reference_stats(path)
    assert loaded.record["n_samples"] == 1797 and loaded.sigma.shape[0] == loaded.mu.shape[0]
