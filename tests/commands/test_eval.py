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
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=64", "device=cpu", "overwrite=true"])
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
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=64", "device=cpu", "batch_size=17", "overwrite=true"])
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
    _write_folder(tmp_path / "gen", 10, 1)
    proc = run_sngan("eval", f"images={tmp_path / 'gen'}", f"reference={tmp_path / 'gen'}", "device=cpu",
                     cwd=str(tmp_path), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    for needle in ("pt_inception-2015-12-05-6726825d.pth", "6726825d", "SNGAN_INCEPTION_WEIGHTS",
                   "eval.inception_weights", "https://", "detector=digits-classifier"):
        assert needle in proc.stderr, needle


def test_stats_precomputes_readable_statistics(capsys):
    from sngan_cli.commands import stats

    stats.main(["dataset=digits", "dataset.resolution=16", "device=cpu"])
    path = capsys.readouterr().out.split(":")[0]
    loaded = load_reference_stats(path)
    assert loaded.record["n_samples"] == 1797 and loaded.sigma.shape[0] == loaded.mu.shape[0]


def _score_folder(capsys, *args):
    capsys.readouterr()
    eval_command.main([*args, "detector=digits-classifier", "device=cpu"])
    return json.loads(capsys.readouterr().out)


def test_folder_statistics_follow_the_folder_contents_and_name_their_file(tmp_path, capsys):
    import shutil

    _write_folder(tmp_path / "gen", 10, 1)
    _write_folder(tmp_path / "real", 10, 2)
    args = (f"images={tmp_path / 'gen'}", f"reference={tmp_path / 'real'}")
    first = _score_folder(capsys, *args)
    shutil.rmtree(tmp_path / "real")
    _write_folder(tmp_path / "real", 10, 3)  # other images, same names and count
    second = _score_folder(capsys, *args)
    assert second["fid"] != pytest.approx(first["fid"], rel=1e-6)
    assert os.path.isfile(first["record"]["reference_file"]) and os.path.isfile(second["record"]["reference_file"])
    assert first["record"]["reference_file"] != second["record"]["reference_file"]


def test_eval_of_a_checkpoint_outside_a_run_writes_beside_it_and_never_overwrites(tiny_checkpoint, tmp_path, capsys):
    import shutil

    from sngan_cli import SnganError

    copy = tmp_path / "a" / "b" / "model.pt"
    copy.parent.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, copy)
    (tmp_path / "a" / "eval.json").write_text("someone else's result")
    eval_command.main([f"ckpt={copy}", "n=10", "device=cpu"])
    assert json.loads((copy.parent / "model.eval.json").read_text())["step"] == 1
    assert (tmp_path / "a" / "eval.json").read_text() == "someone else's result"
    assert sorted(os.listdir(tmp_path / "a")) == ["b", "eval.json"]  # no TensorBoard events either
    before = (copy.parent / "model.eval.json").read_bytes()
    with pytest.raises(SnganError, match=r"model\.eval\.json exists.*overwrite=true"):
        eval_command.main([f"ckpt={copy}", "n=10", "device=cpu", "seed=1"])
    assert (copy.parent / "model.eval.json").read_bytes() == before


def test_eval_prints_the_result_before_a_write_fails_and_names_the_file(tiny_checkpoint, tmp_path):
    import shutil

    from tests.conftest import read_only

    (tmp_path / "ro").mkdir()
    shutil.copy(tiny_checkpoint, tmp_path / "ro" / "model.pt")
    with read_only(tmp_path / "ro"):
        proc = run_sngan("eval", f"ckpt={tmp_path / 'ro' / 'model.pt'}", "n=10", "device=cpu", cwd=str(tmp_path),
                         check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["step"] == 1
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("sngan: warning:")]
    assert len(errors) == 1 and "model.eval.json" in errors[0] and ".tmp-" not in proc.stderr


@pytest.mark.parametrize("count,extra,named", [(5, [], "images="), (20, ["n=5"], "n=5")])
def test_fewer_images_than_is_splits_is_one_line_naming_the_input(count, extra, named, tmp_path, capsys):
    from sngan_cli import SnganError

    _write_folder(tmp_path / "gen", count, 1)
    with pytest.raises(SnganError, match=f"{named}.*needs at least 10"):
        _score_folder(capsys, f"images={tmp_path / 'gen'}", "reference=digits", *extra)


def test_corrupt_files_in_images_are_skipped_and_counted(tmp_path, capsys):
    _write_folder(tmp_path / "gen", 10, 1)
    (tmp_path / "gen" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "gen" / "empty.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 2 of 12 files"):
        result = _score_folder(capsys, f"images={tmp_path / 'gen'}", "reference=digits")
    assert result["record"]["n_generated"] == 10


def test_a_missing_images_folder_is_named_as_images(tmp_path, capsys):
    from sngan_cli import SnganError

    with pytest.raises(SnganError) as error:
        _score_folder(capsys, f"images={tmp_path / 'nope'}", "reference=digits")
    assert f"images={tmp_path / 'nope'}" in str(error.value) and "dataset.root" not in str(error.value)


def test_stats_accepts_the_weights_option_its_error_advises(tmp_path):
    from sngan_cli import SnganError
    from sngan_cli.commands import stats

    with pytest.raises(SnganError, match=r"eval\.inception_weights=.*missing\.pth is not a file"):
        stats.main(["dataset=digits", "detector=inception", f"eval.inception_weights={tmp_path / 'missing.pth'}",
                    "device=cpu"])


def test_stats_of_a_folder_without_a_root_says_so_before_it_looks_for_inception(tmp_path, monkeypatch):
    from sngan_cli import SnganError
    from sngan_cli.commands import stats

    # detector=auto is Inception for a folder; were it built first, this missing file would be the error
    monkeypatch.setenv("SNGAN_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(SnganError, match=r"^dataset\.root has no value: give dataset\.root=/path/to/images$"):
        stats.main(["dataset=folder", "device=cpu"])


@pytest.mark.slow
def test_stats_with_features_serves_kid_on_a_node_without_the_dataset(tmp_path, capsys, monkeypatch):
    import glob
    import shutil

    from sngan_cli.commands import stats
    from sngan_cli.metrics import reference

    cache = tmp_path / "cache"  # a cache of its own, holding only the classifier
    (cache / "sngan").mkdir(parents=True)
    for f in glob.glob(os.path.join(os.environ["XDG_CACHE_HOME"], "sngan", "digits-classifier*")):
        shutil.copy(f, cache / "sngan")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    stats.main(["dataset=digits", "dataset.resolution=16", "device=cpu", "features=true"])
    assert "with their features" in capsys.readouterr().out
    assert len(glob.glob(str(cache / "sngan" / "**" / "real-features-*.npy"), recursive=True)) == 1

    def no_dataset(*args, **kwargs):
        raise AssertionError("the dataset was read")

    monkeypatch.setattr(reference, "load_dataset", no_dataset)
    _write_folder(tmp_path / "gen", 12, 1)
    result = _score_folder(capsys, f"images={tmp_path / 'gen'}", "reference=digits", "resolution=16", "metrics=kid")
    assert np.isfinite(result["kid_mean"])
