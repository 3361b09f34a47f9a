"""What a run shows in TensorBoard, read back with TensorBoard's own readers: an HParams session
with the run's hyperparameters and the score metrics, best and final scores as the evaluations
come, and the sigmas of D in one custom-scalars chart."""
from __future__ import annotations

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata
from tensorboard.plugins.custom_scalar.layout_pb2 import Layout
from tensorboard.plugins.hparams import metadata as hparams_metadata

from sngan_cli.training.loop import train
from sngan_cli.config import changes_numbers, flatten, plain
from sngan_cli.training.monitor import METRICS, all_hparam_names, hparams_of


def _events(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_a_run_is_an_hparams_session_with_its_scores(tiny_cfg, tmp_path):
    train(tiny_cfg("train.steps=4", "train.eval_every=2", "train.sample_every=4", "train.ckpt_every=4",
                   "eval.n_generated=40", "norm=clip", "norm.clip=0.02", "setting=A", "seed=3"), str(tmp_path))
    acc = _events(tmp_path)
    content = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    session = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    values = {k: v.ListFields()[0][1] for k, v in session.hparams.items()}
    assert values["norm.name"] == "clip" and values["norm.clip"] == 0.02 and values["setting.name"] == "A"
    assert values["seed"] == 3 and values["setting.n_dis"] == 5 and values["arch.width"] == 0.125
    assert values["setting.lr"] == 1e-4 and values["setting.beta2"] == 0.9 and values["dataset.name"] == "digits"
    experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
    assert [m.name.tag for m in experiment.metric_infos] == list(METRICS)
    assert {"norm.name", "norm.clip", "norm.n_power_iterations", "seed"} <= {h.name for h in experiment.hparam_infos}
    assert {"train.steps", "train.ema", "name"} <= set(values) and values["train.steps"] == 4
    assert {"metrics/FID_ema", "metrics/IS_ema"} <= set(METRICS)  # what `sngan eval g=ema` writes
    # the metrics of the session, final and best, at each evaluation
    scalars = set(acc.Tags()["scalars"])
    assert set(METRICS[:4]) <= scalars  # the paper's metrics; KID, precision, recall where asked for
    fid = [e.value for e in acc.Scalars("metrics/FID")]
    assert [e.value for e in acc.Scalars("metrics/FID_best")] == [fid[0], min(fid)]


def test_the_sigmas_of_d_are_one_chart(tiny_cfg, tmp_path):
    train(tiny_cfg("train.steps=2", "train.sample_every=2", "train.ckpt_every=2"), str(tmp_path))
    acc = _events(tmp_path)
    (tag,) = acc.PluginTagToContent(custom_scalar_metadata.PLUGIN_NAME)
    layout = Layout.FromString(acc.Tensors(tag)[0].tensor_proto.string_val[0])
    charts = {chart.title: list(chart.multiline.tag) for category in layout.category for chart in category.chart}
    sigma_charts = [tags for tags in charts.values() if tags == [r"sigma/.*"]]
    assert len(sigma_charts) == 1
    assert sum(t.startswith("sigma/") for t in acc.Tags()["scalars"]) == 8  # every layer's sigma, in that chart


def test_hparams_are_every_key_that_changes_the_numbers(tiny_cfg):
    """A sweep's runs differ in some key that changes the numbers; the sessions must show it, and the
    experiment, one list for every run, must name every session's keys."""
    experiment = set(all_hparam_names())
    for overrides in [(), ("fidelity=text",), ("norm=gp",), ("arch.d_last_channels=16",), ("train.ema=true",)]:
        cfg = tiny_cfg(*overrides)
        session = hparams_of(cfg)
        assert set(session) <= experiment, overrides
        changing = {k for k, v in flatten(plain(cfg)).items() if changes_numbers(k) and v is not None}
        assert changing <= set(session), overrides
    assert hparams_of(tiny_cfg("arch.d_last_channels=16"))["arch.d_last_channels"] == 16
    code, text = hparams_of(tiny_cfg("fidelity=code")), hparams_of(tiny_cfg("fidelity=text"))
    assert len({k for k in code.keys() | text.keys() if code.get(k) != text.get(k)}) > 1
