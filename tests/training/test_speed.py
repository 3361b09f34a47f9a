"""training/speed.py: the fast forms of GAN's updates compute what the plain ones do. The speed
options (train.channels_last / tf32 / compile / cuda_graphs / amp) are off by default and each
trains; amp keeps spectral norm's sigma and the gradient penalty in fp32; D's normalized weights are
computed once per update; D sees both batches in one call only where that changes nothing."""
import math

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.norms.spectral import spectral_layers
from sngan_cli.training import speed
from sngan_cli.training.chores import LossSums
from sngan_cli.training.loop import GAN, train

SHORT = ["train.steps=1", "train.sample_every=1", "train.ckpt_every=1"]
CPU = torch.device("cpu")


def fast_gan(cfg, **kw):
    """The GAN of ``cfg`` as training runs it, and its fast parts."""
    gan = GAN(cfg, 10, CPU)
    return gan, speed.accelerate(gan, cfg.train, **kw)


def test_defaults_leave_every_speed_option_off(tiny_cfg):
    t = tiny_cfg().train
    assert (t.channels_last, t.tf32, t.compile, t.cuda_graphs, t.amp) == (False, False, False, False, "none")


def test_fused_adam_is_on_by_default(tiny_cfg):
    assert tiny_cfg().train.fused_adam is True
    for fused, expected in ((True, True), (False, None)):
        gan = GAN(tiny_cfg(f"train.fused_adam={fused}"), 10, torch.device("cpu"))
        assert gan.opt_G.defaults["fused"] is expected and gan.opt_D.defaults["fused"] is expected


def test_fused_adam_makes_the_same_updates_as_the_default():
    """The same Adam (setting C's betas); only rounding differs. (Weights whose gradient is pure
    rounding noise, such as a conv bias before batch norm, are left out: Adam scales any noise to lr.)"""
    weights = []
    for fused in (True, None):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
        opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
        x = torch.randn(16, 6)
        for _ in range(20):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
        weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert torch.allclose(weights[0], weights[1], rtol=0, atol=1e-6)


def test_unknown_amp_mode_is_refused(tiny_cfg):
    with pytest.raises(SnganError, match=r"train.amp=fp16 Invalid value 'fp16', expected one of \[none, bf16\]"):
        tiny_cfg("train.amp=fp16")


@pytest.mark.parametrize("option", [["train.channels_last=true"], ["train.tf32=true"],
                                    ["train.amp=bf16", "norm=gp", "loss=wasserstein"]])
def test_option_trains(option, tiny_cfg, tmp_path):
    train(tiny_cfg(*SHORT, *option), str(tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())


def test_bf16_keeps_sigma_losses_and_penalty_in_fp32(tiny_cfg):
    gan, fast = fast_gan(tiny_cfg("train.amp=bf16", "norm=spectral_gamma", "norm.power_iteration=every_update"))
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    terms = gan.d_step(real, None)
    assert terms["loss/D"].dtype == terms["loss/penalty"].dtype == torch.float32
    eager = {name: module.weight.detach().clone() for name, module, _ in spectral_layers(gan.D)}
    with speed.weights_once(fast.cached), fast.precision():
        for name, module, _ in spectral_layers(gan.D):
            # the weight D uses was normalized before autocast: fp32, exactly gamma * W / sigma(W)
            assert module.weight.dtype == torch.float32
            assert torch.equal(module.weight, eager[name])


def test_bf16_computes_sigma_in_fp32_at_every_call(tiny_cfg):
    """norm.power_iteration=every_forward: each call of D normalizes its weights itself, inside the
    autocast region, and still in fp32."""
    gan, fast = fast_gan(tiny_cfg("train.amp=bf16", "norm=spectral"))
    with fast.precision():
        for _, module, _ in spectral_layers(gan.D):
            assert module.weight.dtype == torch.float32
    assert torch.isfinite(gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)["loss/D"])


@pytest.mark.parametrize("norm", ["spectral", "spectral_gamma"])
def test_each_normalized_weight_is_computed_once_per_d_update(norm, tiny_cfg):
    # (with every_update; every_forward computes it at each call, by definition)
    gan, _ = fast_gan(tiny_cfg(f"norm={norm}", "norm.power_iteration=every_update"))
    calls = []
    for _, _, sn in spectral_layers(gan.D):
        sn.register_forward_hook(lambda *_: calls.append(1))
    terms = gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)  # real, fake (and the penalty's) D calls
    assert len(calls) == len(list(spectral_layers(gan.D))) == 8
    assert torch.isfinite(terms["loss/D"])
    assert not torch.nn.utils.parametrize._cache_enabled  # the cache is left after the update


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [["norm=spectral"], ["norm=spectral", "norm.power_iteration=every_update"],
                                       ["norm=spectral_gamma", "arch=resnet", "arch.conditional=true"]])
def test_compiled_functions_of_the_step_have_no_graph_breaks(overrides, tiny_cfg):
    """What train.compile compiles: G, the power iteration, D's loss and G's loss each with D's
    normalized weights inside the graph, and the penalty (spectral_gamma's: the gradient penalty)."""
    import torch._dynamo

    gan = GAN(tiny_cfg(*overrides), 10, CPU)
    fast = speed.FastSteps(gan, tiny_cfg(*overrides).train)  # what compile=true compiles, uncompiled
    z, y = gan.latent(4)
    x = torch.randn(4, 3, 16, 16)
    compiled = [(gan.G, (z, y)), (fast.d_loss, (x, y, x, y)), (fast.g_loss, (z, y))]
    if not gan.normalizer.refreshes_per_forward:  # every_forward: the refresh is inside D's calls
        compiled.append((gan.normalizer.before_d_step, (gan.D,)))
    if gan.normalizer.has_penalty:
        compiled.append((gan.normalizer.penalty, (gan.D, x, x, y)))
    assert len(compiled) == (4 if "spectral_gamma" in overrides[0] else 3) + ("every_update" in str(overrides))
    for fn, args in compiled:
        torch._dynamo.reset()
        explanation = torch._dynamo.explain(fn)(*args)
        assert explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["spectral", "orthonormal", "gp", "spectral_gamma"])
def test_a_compiled_step_computes_the_same_as_an_eager_one(norm, tiny_cfg):
    """The same losses, gradients and buffers (u, v, BN statistics) over two updates, compiled or
    as the plain eager GAN (Algorithm 1, without training/speed.py). lr=0 keeps the weights equal: Adam's first steps turn rounding noise in a near-zero
    gradient into a full lr-sized step of either sign, which would hide what is compared here.

    The CPU compiler's vectorized kernels are off (``cpp.simdlen=1``): with them, torch 2.14.1's
    inductor gave G's gradients of the second update with a 1 % error (against float64; its
    ``aot_eager`` backend, without inductor's kernels, is exact), which docs/performance.md notes.
    This test is about what the step compiles, not about the CPU code generator. Random numbers
    drawn inside compiled code (the gradient penalty's interpolation) come from the eager
    generator (``fallback_random``), so both draw the same."""
    import torch._inductor.config

    runs = []
    for option in ("train.compile=false", "train.compile=true"):
        torch.manual_seed(0)
        cfg = tiny_cfg(f"norm={norm}", "setting.lr=0", option)
        gan = GAN(cfg, 10, CPU)
        if cfg.train.compile:
            speed.accelerate(gan, cfg.train)
        real = torch.rand(8, 3, 16, 16) * 2 - 1
        torch.manual_seed(1)
        losses, grads = [], []
        with torch._inductor.config.patch({"cpp.simdlen": 1, "fallback_random": True}):
            for _ in range(2):
                losses += [float(t) for t in gan.d_step(real, None).values()]
                grads.append([p.grad.clone() for p in gan.D.parameters()])
                losses += [float(t) for t in gan.g_step().values()]
                grads.append([p.grad.clone() for p in gan.G.parameters()])
        grads.append([b.clone() for b in (*gan.G.buffers(), *gan.D.buffers()) if b.is_floating_point()])
        runs.append((losses, grads))
    (eager_losses, eager), (losses, compiled) = runs
    assert losses == pytest.approx(eager_losses, rel=1e-4)
    for got, want in zip(compiled, eager, strict=True):  # per update: D's, G's gradients; then the buffers
        # tolerance from the largest value of the group: a conv bias before BN has a zero gradient
        # up to rounding, which neither side computes better than the other
        scale = max(w.abs().max().item() for w in want)
        for g, w in zip(got, want, strict=True):
            assert torch.allclose(g, w, rtol=1e-3, atol=1e-5 * scale)


def test_cuda_graphs_compile_in_reduce_overhead_mode_and_mark_every_update(tiny_cfg, monkeypatch):
    modes, steps = [], []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: modes.append(kw.get("mode")) or fn)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: steps.append(1))
    gan, _ = fast_gan(tiny_cfg("train.cuda_graphs=true"))
    assert modes == ["reduce-overhead"] * 4  # G, D's loss, G's loss, the normalizer's per-update work
    gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)
    gan.g_step()
    assert len(steps) == 2
    modes.clear()
    fast_gan(tiny_cfg())[0].g_step()
    assert modes == [] and len(steps) == 2  # off: nothing compiled, no step marks


def test_cuda_graphs_losses_outlive_the_next_replay(tiny_cfg, monkeypatch):
    """CUDA graph trees reuse the memory of every output once the next update begins (on a GPU,
    reading such a loss raises "accessing tensor output of CUDAGraphs that has been overwritten").
    Modelled on the CPU: each compiled call's outputs are overwritten with NaN at the next step mark;
    the losses the loop sums for its log must be the values each update computed."""
    outputs = []

    def replayed(fn, **_):
        def call(*args, **kwargs):
            out = fn(*args, **kwargs)
            if isinstance(out, torch.Tensor):
                outputs.append(out)
            return out
        return call

    def step_begin():
        with torch.no_grad():
            for out in outputs:
                out.detach().fill_(float("nan"))  # the pool's memory, reused by the next replay
        outputs.clear()

    monkeypatch.setattr(torch, "compile", replayed)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", step_begin)
    for norm in ("spectral", "gp"):
        gan, _ = fast_gan(tiny_cfg("train.cuda_graphs=true", f"norm={norm}"))
        sums, seen = LossSums(), []
        for _ in range(2):
            d_terms = gan.d_step(torch.rand(8, 3, 16, 16) * 2 - 1, None)
            seen.append({k: float(v) for k, v in d_terms.items()})  # read at once, before G's update
            terms = {**d_terms, **gan.g_step()}
            sums.add(terms)
        means = sums.take_means()
        assert all(math.isfinite(v) for v in means.values()), (norm, means)
        for key in seen[0]:
            assert means[key] == pytest.approx((seen[0][key] + seen[1][key]) / 2, rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("option", ["train.compile=true", "train.cuda_graphs=true"])
def test_compiled_training_runs(option, tiny_cfg, tmp_path):
    train(tiny_cfg(*SHORT, option), str(tmp_path))
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["step"] == 1


def test_compile_on_the_cpu_is_warned_about(tiny_cfg, caplog):
    fast_gan(tiny_cfg("train.compile=true"))  # torch.compile itself waits for a first call
    assert "train.compile on the CPU" in caplog.text
    caplog.clear()
    fast_gan(tiny_cfg())
    assert "train.compile" not in caplog.text


def test_one_d_call_only_on_a_gpu_and_never_for_a_batch_normalized_d(tiny_cfg):
    for norm, on_gpu in (("spectral", True), ("layer", True), ("batch", False)):
        D = GAN(tiny_cfg(f"norm={norm}"), 10, CPU).D
        assert speed.one_d_call(D, torch.device("cuda")) is on_gpu
        assert speed.one_d_call(D, CPU) is False


@pytest.mark.parametrize("overrides", [["norm=spectral"], ["norm=layer"], ["arch=resnet", "arch.conditional=true"]])
def test_one_call_of_d_gives_the_loss_of_two(overrides, tiny_cfg):
    # (spectral norm's power iteration once per update: with every_forward each call has its own sigma,
    # and D is always called once per batch)
    every_update = [] if "norm=layer" in overrides else ["norm.power_iteration=every_update"]  # spectral's option
    cfg = tiny_cfg(*overrides, *every_update)
    losses = []
    for one_call in (True, False):  # what a GPU run chooses for these D, and the plain two calls
        torch.manual_seed(0)
        gan, _ = fast_gan(cfg, d_once=one_call)
        real, fake = torch.rand(8, 3, 16, 16) * 2 - 1, torch.rand(8, 3, 16, 16) * 2 - 1
        y_real, y_fake = (torch.randint(10, (8,)), torch.randint(10, (8,))) if gan.num_classes else (None, None)
        batch_sizes = []
        hook = gan.D.register_forward_hook(lambda module, args, out: batch_sizes.append(len(args[0])))
        loss, _ = gan.d_objective(real, y_real, fake, y_fake)
        hook.remove()
        assert batch_sizes == ([16] if one_call else [8, 8])
        losses.append(loss)
    assert torch.allclose(losses[0], losses[1], atol=1e-5)
