"""`sngan eval` beyond the paper's IS and FID: KID, precision/recall and density/coverage on the
FID's images against cached real features, each number with its sample counts; and G's moving
average (g=ema) for eval, sample and export."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sngan_cli import SnganError
from sngan_cli.commands import eval as eval_command
from sngan_cli.commands import export, sample
from tests.conftest import _trained_checkpoint


@pytest.fixture(scope="module")
def ema_checkpoint(tmp_path_factory):
    """A digits checkpoint trained for two steps with G's moving average (from the first step)."""
    return _trained_checkpoint(tmp_path_factory.mktemp("ema"), "tiny-ema", "train.steps=2", "train.ema=true",
                               "train.ema_start=1", "train.ema_decay=0.5")


def _result(run_dir, name="eval.json"):
    with open(os.path.join(run_dir, name)) as f:
        return json.load(f)


def test_kid_precision_recall_density_coverage_with_their_counts(tiny_checkpoint, capsys):
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=120", "device=cpu", "overwrite=true", "metrics=kid,pr,dc"])
    run_dir = os.path.dirname(os.path.dirname(tiny_checkpoint))
    result = _result(run_dir)
    record = result["record"]
    assert record["metrics"] == ["is", "fid", "kid", "pr", "dc"]
    assert np.isfinite(result["kid_mean"]) and result["kid_std"] >= 0
    assert 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1 and 0 <= result["coverage"] <= 1
    # every number with its sample counts: the FID's generated images against every real image
    for name in ("kid", "pr", "dc"):
        assert record[name]["n_real"] == 1797 and record[name]["n_fake"] == record["n_generated_fid"] == 120
    assert record["kid"]["subset_size"] == 120 and record["pr"]["k"] == 3 and record["dc"]["k"] == 5
    acc = EventAccumulator(run_dir)
    acc.Reload()
    assert acc.Scalars("metrics/KID")[-1].value == pytest.approx(result["kid_mean"], rel=1e-6)
    assert {"metrics/precision", "metrics/recall", "metrics/IS_best"} <= set(acc.Tags()["scalars"])


def test_the_real_features_are_cached_under_the_statistics_key(tiny_checkpoint, isolated_caches, capsys):
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=60", "device=cpu", "overwrite=true", "metrics=kid"])
    cached = sorted((isolated_caches / "xdg" / "sngan" / "stats").glob("real-features-*.npy"))
    assert cached, "no cached real features"
    statistics = [p.name.replace("real-features-", "fid-stats-").replace(".npy", ".npz") for p in cached]
    assert all((p.parent / s).exists() for p, s in zip(cached, statistics))  # one key for both
    first = _result(os.path.dirname(os.path.dirname(tiny_checkpoint)))
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=60", "device=cpu", "overwrite=true", "metrics=kid"])
    again = _result(os.path.dirname(os.path.dirname(tiny_checkpoint)))
    assert again["kid_mean"] == first["kid_mean"]  # from the cache, the same numbers


@pytest.mark.parametrize("value", ["kid,fast", "precision", ""])
def test_an_unknown_metric_is_one_line(value, tiny_checkpoint):
    with pytest.raises(SnganError, match="metrics=.* is not allowed: choose from is, fid, kid, pr, dc"):
        eval_command.main([f"ckpt={tiny_checkpoint}", "n=60", "device=cpu", f"metrics={value}"])


def test_g_ema_is_scored_into_its_own_result(ema_checkpoint, capsys):
    run_dir = os.path.dirname(os.path.dirname(ema_checkpoint))
    for g in ("G", "ema"):
        eval_command.main([f"ckpt={ema_checkpoint}", "n=60", "device=cpu", "overwrite=true", f"g={g}"])
    plain, ema = _result(run_dir), _result(run_dir, "eval_ema.json")
    assert plain["record"]["generator"] == "G" and ema["record"]["generator"] == "ema"
    assert ema["record"]["checkpoint"] == plain["record"]["checkpoint"]
    acc = EventAccumulator(run_dir)
    acc.Reload()
    assert acc.Scalars("metrics/IS_ema")[-1].value == pytest.approx(ema["inception_score_mean"], rel=1e-6)


def test_g_ema_of_a_run_without_it_is_one_line(tiny_checkpoint, tmp_path):
    for main, extra in ((eval_command.main, ["n=60"]), (sample.main, [f"out={tmp_path / 's'}", "n=2"]),
                        (export.main, [f"out={tmp_path / 'g.pt'}", "format=torchscript"])):
        with pytest.raises(SnganError, match="has no G_ema: g=ema needs a run trained with train.ema=true"):
            main([f"ckpt={tiny_checkpoint}", "device=cpu", "g=ema", *extra])


def test_sample_and_export_use_the_average_when_asked(ema_checkpoint, tmp_path):
    import torch

    for g in ("G", "ema"):
        sample.main([f"ckpt={ema_checkpoint}", f"out={tmp_path / g}", "n=4", "format=npz", "device=cpu", f"g={g}"])
        export.main([f"ckpt={ema_checkpoint}", f"out={tmp_path / g}.pt", "format=torchscript", f"g={g}"])
    # (two updates from initialization: both G's images round to nearly the same uint8 values)
    assert all(np.load(tmp_path / g / "samples.npz")["images"].shape == (4, 16, 16, 3) for g in ("G", "ema"))
    z = torch.randn(2, 128)
    outputs = {g: torch.jit.load(str(tmp_path / f"{g}.pt"))(z) for g in ("G", "ema")}
    assert not torch.equal(outputs["G"], outputs["ema"])


def test_unreadable_cached_features_are_one_line_naming_the_file(tiny_checkpoint, isolated_caches, tmp_path):
    eval_command.main([f"ckpt={tiny_checkpoint}", "n=60", "device=cpu", "overwrite=true", "metrics=pr"])
    (cached,) = (isolated_caches / "xdg" / "sngan" / "stats").glob("real-features-*.npy")
    saved = cached.read_bytes()
    try:
        cached.write_bytes(saved[: len(saved) // 2])  # truncated
        with pytest.raises(SnganError, match=f"cached real features {cached}.*delete it to recompute them"):
            eval_command.main([f"ckpt={tiny_checkpoint}", "n=60", "device=cpu", "overwrite=true", "metrics=pr"])
    finally:
        cached.write_bytes(saved)


def test_g_ema_loads_the_moving_average_itself(ema_checkpoint):
    import torch

    from sngan_cli.trained import load_generator

    saved = torch.load(ema_checkpoint, weights_only=True)
    for g, key in (("G", "G"), ("ema", "G_ema")):
        loaded = load_generator(ema_checkpoint, torch.device("cpu"), g).G.state_dict()
        assert all(torch.equal(loaded[k], saved[key][k]) for k in saved[key])
    assert not all(torch.equal(saved["G"][k], saved["G_ema"][k]) for k in saved["G"])
