import glob
import os

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sngan_cli import SnganError
from sngan_cli.norms import available
from sngan_cli.training.loop import GAN, train


def scalar_tags(run_dir):
    acc = EventAccumulator(run_dir)
    acc.Reload()
    return set(acc.Tags()["scalars"]), acc


def test_a_run_writes_checkpoint_events_and_samples(tiny_cfg, tmp_path):
    cfg = tiny_cfg("train.steps=4", "train.sample_every=2", "train.ckpt_every=2")
    train(cfg, str(tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert {"step", "G", "D", "opt_G", "opt_D", "rng", "config", "data"} <= set(ckpt)
    assert ckpt["step"] == 4 and ckpt["config"]["norm"]["name"] == "spectral"
    assert any(k.endswith("weight.0.u") for k in ckpt["D"])
    assert sorted(os.listdir(tmp_path / "samples")) == ["step_0000002.png", "step_0000004.png"]
    tags, acc = scalar_tags(str(tmp_path))
    assert {"loss/D", "loss/G", "time/step_s"} <= tags
    sigma_tags = {t for t in tags if t.startswith("sigma/")}
    assert len(sigma_tags) == 8  # 7 convs + dense of Table 3's D
    assert [e.step for e in acc.Scalars("loss/D")] == [2, 4]
    # the effective weights have spectral norm close to 1 already
    exact = [acc.Scalars(t.replace("sigma/", "sigma_exact/"))[-1].value for t in sigma_tags]
    assert all(0.5 < s < 1.5 for s in exact), exact


def test_the_logged_d_loss_is_the_mean_of_the_steps_d_updates(tiny_cfg, tmp_path, monkeypatch):
    """n_dis D updates per step: loss/D is their mean over the logged steps, not the last update's."""
    losses = []
    plain = GAN.d_step

    def d_step(self, *args):
        terms = plain(self, *args)
        losses.append(float(terms["loss/D"]))
        return terms

    monkeypatch.setattr(GAN, "d_step", d_step)
    train(tiny_cfg("train.steps=2", "train.log_every=2", "setting.n_dis=3", "norm=gp", "loss=wasserstein"),
          str(tmp_path))
    _, acc = scalar_tags(str(tmp_path))
    assert len(losses) == 6 and len(set(losses)) > 1
    assert acc.Scalars("loss/D")[-1].value == pytest.approx(sum(losses) / 6, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("norm", sorted(available()))
def test_every_normalizer_trains(norm, tiny_cfg, tmp_path):
    loss = "wasserstein" if norm == "gp" else "standard"
    cfg = tiny_cfg(f"norm={norm}", f"loss={loss}", "setting=A", "train.steps=2", "train.sample_every=2",
                   "train.ckpt_every=2")
    train(cfg, str(tmp_path))
    tags, _ = scalar_tags(str(tmp_path))
    assert ("loss/penalty" in tags) == (norm in ("gp", "orthonormal") or norm.endswith("_gamma"))


def _weights(run_dir):
    ckpt = torch.load(os.path.join(run_dir, "checkpoints", "last.pt"), weights_only=True)
    return ckpt["step"], {**{f"G.{k}": v for k, v in ckpt["G"].items()}, **{f"D.{k}": v for k, v in ckpt["D"].items()}}


@pytest.mark.parametrize("extra", [["setting=C"], ["setting=A", "norm=gp", "loss=wasserstein"]])
def test_resume_equals_straight_bit_for_bit(extra, tiny_cfg, tmp_path):
    common = ["train.sample_every=100", "train.ckpt_every=3", *extra]
    straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
    train(tiny_cfg("train.steps=6", *common), straight)
    train(tiny_cfg("train.steps=3", *common), resumed)
    assert _weights(resumed)[0] == 3
    train(tiny_cfg("train.steps=6", *common), resumed)
    (sa, wa), (sb, wb) = _weights(straight), _weights(resumed)
    assert sa == sb == 6 and wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_resume_with_another_config_refuses_listing_differences(tiny_cfg, tmp_path):
    train(tiny_cfg("train.steps=2", "train.sample_every=2", "train.ckpt_every=2"), str(tmp_path))
    with pytest.raises(SnganError, match=r"setting.lr: 0.0002 -> 0.001"):
        train(tiny_cfg("train.steps=4", "setting.lr=0.001"), str(tmp_path))
    # run length and intervals may change
    train(tiny_cfg("train.steps=3", "train.sample_every=3", "train.log_every=1", "train.ckpt_every=1"), str(tmp_path))
    assert _weights(str(tmp_path))[0] == 3


# the config a checkpoint of the version before per-normalizer options saved: every normalizer's keys
OLD_NORM = {"n_power_iterations": 1, "power_iteration": "every_forward", "lipschitz": 1.0, "clip": 0.01,
            "clip_params": "all", "gp_lambda": 10.0, "ortho_beta": 1e-4, "gamma_init": None}
OLD_DATASET = {"recursive": True, "split": "train", "antialias": True}


def test_a_resume_may_not_switch_what_changes_the_numbers_and_takes_an_older_version_s_checkpoint(tiny_cfg, tmp_path):
    """train.amp and train.tf32 change the numbers (config.changes_numbers): a resume refuses them. A
    checkpoint whose config holds keys this version's schema no longer has resumes: nothing reads them."""
    train(tiny_cfg("train.steps=2", "train.sample_every=2", "train.ckpt_every=2"), str(tmp_path))
    for option, difference in (("train.amp=bf16", "train.amp: none -> bf16"),
                               ("train.tf32=true", "train.tf32: False -> True")):
        with pytest.raises(SnganError, match=difference):
            train(tiny_cfg("train.steps=3", option), str(tmp_path))
    last = tmp_path / "checkpoints" / "last.pt"
    ckpt = torch.load(last, weights_only=True)
    ckpt["config"]["norm"].update(OLD_NORM)
    ckpt["config"]["dataset"].update(OLD_DATASET)
    torch.save(ckpt, last)
    same_numbers = ["train.sample_every=3", "train.compile=false", "train.fused_adam=false"]  # may change
    train(tiny_cfg("train.steps=3", *same_numbers), str(tmp_path))
    assert _weights(str(tmp_path))[0] == 3


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tiny_cfg, tmp_path, monkeypatch):
    real_g_step, calls = GAN.g_step, []

    def g_step_turning_nan(self):
        calls.append(1)
        out = real_g_step(self)
        return {"loss/G": out["loss/G"] * float("nan")} if len(calls) >= 3 else out

    monkeypatch.setattr(GAN, "g_step", g_step_turning_nan)
    with pytest.raises(SnganError, match="non-finite loss/G between steps 3 and 4"):
        train(tiny_cfg("train.steps=6", "train.ckpt_every=2", "train.sample_every=2"), str(tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())


def test_on_nan_restore_rolls_back_and_continues(tiny_cfg, tmp_path, monkeypatch, caplog):
    real_g_step, calls = GAN.g_step, []

    def g_step_nan_once(self):
        calls.append(1)
        out = real_g_step(self)
        return {"loss/G": out["loss/G"] * float("nan")} if len(calls) == 3 else out

    monkeypatch.setattr(GAN, "g_step", g_step_nan_once)
    train(tiny_cfg("train.steps=6", "train.ckpt_every=2", "train.sample_every=2", "train.on_nan=restore"),
          str(tmp_path))
    assert "restored step 2" in caplog.text
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 6
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())


def test_discriminator_comes_back_from_its_checkpoint(tiny_cfg, tmp_path):
    from sngan_cli.trained import load_discriminator

    cfg = tiny_cfg("train.steps=2", "train.ckpt_every=2", "train.sample_every=2", "norm=spectral_gamma")
    train(cfg, str(tmp_path))
    D, normalizer, config = load_discriminator(str(tmp_path / "checkpoints" / "last.pt"), torch.device("cpu"))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.equal(v, ckpt["D"][k]) for k, v in D.state_dict().items())
    assert normalizer.name == "spectral_gamma" and config["norm"]["name"] == "spectral_gamma"


def test_periodic_evaluation_logs_and_keeps_best_and_final(tiny_cfg, tmp_path):
    import json

    train(tiny_cfg("train.steps=4", "train.eval_every=2", "train.sample_every=4", "train.ckpt_every=4",
                   "eval.n_generated=40"), str(tmp_path))
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]
    assert lines[0]["record"]["detector"] == "digits-classifier" and lines[0]["record"]["n_generated"] == 40
    summary = json.loads((tmp_path / "metrics_summary.json").read_text())
    assert summary["final"]["step"] == 4
    assert summary["best_is"]["inception_score_mean"] == max(line["inception_score_mean"] for line in lines)
    assert summary["best_fid"]["fid"] == min(line["fid"] for line in lines)
    tags, acc = scalar_tags(str(tmp_path))
    assert {"metrics/IS", "metrics/FID"} <= tags
    assert [e.step for e in acc.Scalars("metrics/FID")] == [2, 4]


def test_linear_lr_decay(tiny_cfg):
    cfg = tiny_cfg("setting.lr_decay=linear", "setting.decay_start=2", "train.steps=6")
    gan = GAN(cfg, 10, torch.device("cpu"))
    lrs = []
    for step in (1, 2, 4, 6):
        gan.set_lr(step)
        lrs.append(gan.opt_D.param_groups[0]["lr"])
        assert gan.opt_G.param_groups[0]["lr"] == lrs[-1]
    assert lrs == pytest.approx([2e-4, 2e-4, 1e-4, 0.0])


# (setting, run length, lr at steps 1, 25%, 50%, 90% and 100% of the run): Table 1's settings keep
# their learning rate; the ResNet runs decay it linearly to 0 from the start (the authors' code and
# Gulrajani et al.'s), ImageNet after 400K of its 450K updates (Appendix B.3)
SCHEDULES = {
    "A": (100_000, [1e-4] * 5), "B": (100_000, [1e-4] * 5), "C": (100_000, [2e-4] * 5),
    "D": (100_000, [1e-3] * 5), "E": (100_000, [1e-3] * 5), "F": (100_000, [1e-3] * 5),
    "resnet": (100_000, [2e-4 * (1 - 1 / 100_000), 1.5e-4, 1e-4, 2e-5, 0.0]),
    "imagenet": (450_000, [2e-4, 2e-4, 2e-4, 2e-4 * (1 - (405_000 - 400_000) / 50_000), 0.0]),
}


@pytest.mark.parametrize("setting", sorted(SCHEDULES))
def test_learning_rate_schedule_and_run_length_of_each_setting(setting, tiny_cfg):
    cfg = tiny_cfg(f"setting={setting}")
    steps, expected = SCHEDULES[setting]
    assert cfg.train.steps == steps  # no train.steps=450000 to remember for ImageNet
    gan = GAN(cfg, 10, torch.device("cpu"))
    lrs = []
    for fraction in (0, 0.25, 0.5, 0.9, 1.0):
        gan.set_lr(max(1, int(fraction * steps)))
        lrs.append(gan.opt_D.param_groups[0]["lr"])
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("accelerated", [False, True])
@pytest.mark.parametrize("norm", ["spectral", "spectral_gamma", "gp"])
def test_g_step_computes_g_gradients_only_and_the_same_as_a_full_backward(norm, accelerated, tiny_cfg):
    # (every_update: the reference backward's D call below must see the g_step's sigma)
    from sngan_cli.training import speed

    every_update = ["norm.power_iteration=every_update"] if norm.startswith("spectral") else []
    cfg = tiny_cfg(f"norm={norm}", *every_update)
    gan = GAN(cfg, 10, torch.device("cpu"))
    cached = speed.accelerate(gan, cfg.train).cached if accelerated else []  # the plain step, or the run's
    gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)
    d_grads = [None if p.grad is None else p.grad.clone() for p in gan.D.parameters()]
    rng, g_before = torch.get_rng_state(), {k: v.clone() for k, v in gan.G.state_dict().items()}
    gan.g_step()
    for p, before in zip(gan.D.parameters(), d_grads):  # D's gradients are left as the D update left them
        assert (p.grad is None and before is None) or torch.equal(p.grad, before)
    g_grads = [p.grad.clone() for p in gan.G.parameters()]
    # the same G gradients as a backward pass through everything
    torch.set_rng_state(rng)
    gan.G.load_state_dict(g_before)  # before G's update
    z, y = gan.latent(gan.g_batch_size)
    gan.G.zero_grad(set_to_none=True)
    with speed.weights_once(cached):
        gan.loss.g(gan.D(gan.G(z, y), y)).backward()
    for p, g in zip(gan.G.parameters(), g_grads):
        assert torch.equal(p.grad, g)


@pytest.mark.parametrize("norm,n_dis,per_g_update", [("spectral", 1, 3), ("spectral", 3, 7), ("spectral_gamma", 2, 7)])
def test_power_iterations_per_g_update_are_those_of_the_authors_code(norm, n_dis, per_g_update, tiny_cfg):
    """norm.power_iteration=every_forward (default): one refresh per training-mode call of D, and D is
    called on the real and the fake batch separately and once in the G update: 2 n_dis + 1 per G
    update (spectral_gamma's gradient penalty calls D once more per D update: 3 n_dis + 1).
    every_update (Algorithm 1's text): n_dis."""
    from sngan_cli.norms.spectral import SpectralNormWeight, spectral_layers

    counts = []
    original = SpectralNormWeight.power_iteration

    def counted(self, weight, steps):
        counts.append(steps)
        return original(self, weight, steps)

    SpectralNormWeight.power_iteration = counted
    try:
        for mode, expected in (("every_forward", per_g_update), ("every_update", n_dis)):
            gan = GAN(tiny_cfg(f"norm={norm}", f"setting.n_dis={n_dis}", f"norm.power_iteration={mode}"), 10,
                      torch.device("cpu"))
            layers = len(list(spectral_layers(gan.D)))
            counts.clear()
            for _ in range(n_dis):
                gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)
            gan.g_step()
            gan.sigmas()  # logging reads the weights without refreshing
            if mode == "every_forward":
                assert len(counts) == expected * layers and set(counts) == {1}
            else:  # every_update refreshes all layers at once (before_d_step), not through this method
                assert counts == []
    finally:
        SpectralNormWeight.power_iteration = original


def test_every_update_refreshes_once_per_d_update(tiny_cfg):
    from sngan_cli.norms.spectral import spectral_layers

    gan = GAN(tiny_cfg("norm.power_iteration=every_update"), 10, torch.device("cpu"))
    (_, _, first), *_ = spectral_layers(gan.D)
    seen = []
    for _ in range(3):
        before = first.u.clone()
        gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)
        seen.append(not torch.equal(before, first.u))
        before = first.u.clone()
        gan.g_step()
        seen.append(not torch.equal(before, first.u))
    assert seen == [True, False] * 3


def test_a_non_finite_loss_before_any_checkpoint_does_not_claim_one_is_kept(tiny_cfg, tmp_path, monkeypatch):
    real_g_step = GAN.g_step
    monkeypatch.setattr(GAN, "g_step", lambda self: {"loss/G": real_g_step(self)["loss/G"] * float("nan")})
    with pytest.raises(SnganError) as error:
        train(tiny_cfg("train.steps=4", "train.ckpt_every=4"), str(tmp_path))
    assert "no checkpoint had been written yet" in str(error.value)
    assert "last good checkpoint is kept" not in str(error.value)


def test_status_records_the_last_good_step_when_a_checkpoint_cannot_be_written(tiny_cfg, tmp_path, monkeypatch):
    import json

    from sngan_cli.training import chores

    real_save, calls = chores.save_checkpoint, []

    def save_until_the_disk_is_full(state, ckpt_dir):
        calls.append(state["step"])
        if len(calls) > 1:
            raise SnganError(f"could not write {ckpt_dir}/last.pt: no space left on device")
        return real_save(state, ckpt_dir)

    monkeypatch.setattr(chores, "save_checkpoint", save_until_the_disk_is_full)
    with pytest.raises(SnganError, match="no space left"):
        train(tiny_cfg("train.steps=6", "train.ckpt_every=2", "train.sample_every=6"), str(tmp_path))
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "failed" and status["step"] == 2 and "no space left" in status["error"]


def test_a_corrupt_evaluation_summary_is_one_line_and_kept(tiny_cfg, tmp_path):
    (tmp_path / "metrics_summary.json").write_text('{"final": ')
    with pytest.raises(SnganError, match=r"metrics_summary\.json cannot be read"):
        train(tiny_cfg("train.steps=2", "train.eval_every=2", "eval.n_generated=40"), str(tmp_path))
    assert (tmp_path / "metrics_summary.json").read_text() == '{"final": '
