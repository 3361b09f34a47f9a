"""Evaluation during training (training/periodic_eval.py) is metrics/evaluate.py's scoring on the
schedule: the same result as ``sngan eval`` of the checkpoint of that step, in the same shape."""
import json

import pytest

from sngan_cli.commands import eval as eval_command
from sngan_cli.training.loop import train


def test_an_evaluation_during_training_is_sngan_eval_of_that_step(tiny_cfg, tmp_path, capsys):
    train(tiny_cfg("train.steps=2", "train.eval_every=2", "train.ckpt_every=2", "train.sample_every=2",
                   "eval.n_generated=20"), str(tmp_path))
    periodic = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    eval_command.main([f"run={tmp_path}", "n=20", "device=cpu"])
    final = json.loads((tmp_path / "eval.json").read_text())
    assert set(periodic) == set(final) == {"inception_score_mean", "inception_score_std", "fid", "step", "record"}
    assert set(final["record"]) - set(periodic["record"]) == {"checkpoint"}  # the images' source
    assert periodic["step"] == final["step"] == 2
    for key in ("inception_score_mean", "inception_score_std", "fid"):
        assert periodic[key] == pytest.approx(final[key], rel=1e-6), key
    assert {k: v for k, v in final["record"].items() if k != "checkpoint"} == periodic["record"]


def test_eval_metrics_adds_the_sample_metrics_to_the_evaluations_during_training(tiny_cfg, tmp_path, capsys):
    train(tiny_cfg("train.steps=2", "train.eval_every=2", "train.ckpt_every=2", "train.sample_every=2",
                   "eval.n_generated=40", "eval.metrics=[kid,pr]"), str(tmp_path))
    periodic = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"kid_mean", "kid_std", "precision", "recall"} <= set(periodic)
    assert periodic["record"]["metrics"] == ["is", "fid", "kid", "pr"]
    assert periodic["record"]["kid"]["n_fake"] == periodic["record"]["pr"]["n_fake"] == 40
    eval_command.main([f"run={tmp_path}", "n=40", "device=cpu", "metrics=kid,pr"])
    final = json.loads((tmp_path / "eval.json").read_text())
    assert final["kid_mean"] == pytest.approx(periodic["kid_mean"], rel=1e-6)
    assert final["precision"] == periodic["precision"] and final["recall"] == periodic["recall"]


def test_an_unknown_metric_fails_at_compose_time(tiny_cfg):
    from sngan_cli import SnganError

    with pytest.raises(SnganError, match="fast"):
        tiny_cfg("eval.metrics=[kid,fast]")
