"""Speed options (train.channels_last / tf32 / compile / amp): off by default, each trains, and
amp keeps spectral norm's sigma and the gradient penalty in fp32."""
import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.config import validate
from sngan_cli.norms.spectral import spectral_layers
from sngan_cli.training import speed
from sngan_cli.training.loop import GAN, train

SHORT = ["train.steps=1", "train.sample_every=1", "train.ckpt_every=1"]


def test_defaults_leave_every_speed_option_off(tiny_cfg):
    t = tiny_cfg().train
    assert (t.channels_last, t.tf32, t.compile, t.amp) == (False, False, False, "none")


def test_unknown_amp_mode_is_refused(tiny_cfg):
    with pytest.raises(SnganError, match="train.amp=fp16 is not allowed"):
        validate(tiny_cfg("train.amp=fp16"))


@pytest.mark.parametrize("option", [["train.channels_last=true"], ["train.tf32=true"],
                                    ["train.amp=bf16", "norm=gp", "loss=wasserstein"]])
def test_option_trains(option, tiny_cfg, tmp_path):
    train(tiny_cfg(*SHORT, *option), str(tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())


def test_bf16_keeps_sigma_losses_and_penalty_in_fp32(tiny_cfg):
    gan = GAN(tiny_cfg("train.amp=bf16", "norm=spectral_gamma"), 10, torch.device("cpu"))
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    terms = gan.d_step(real, None)
    assert terms["loss/D"].dtype == terms["loss/penalty"].dtype == torch.float32
    eager = {name: module.weight.detach().clone() for name, module, _ in spectral_layers(gan.D)}
    with gan.fp32_weights(), gan.autocast():
        for name, module, _ in spectral_layers(gan.D):
            # the weight D uses was normalized before autocast: fp32, exactly gamma * W / sigma(W)
            assert module.weight.dtype == torch.float32
            assert torch.equal(module.weight, eager[name])


def test_fp32_weights_is_a_no_op_without_amp(tiny_cfg):
    gan = GAN(tiny_cfg(), 10, torch.device("cpu"))
    with gan.fp32_weights():
        assert not torch.nn.utils.parametrize._cache_enabled


@pytest.mark.slow
def test_compiled_networks_and_power_iteration_have_no_graph_breaks(tiny_cfg):
    import torch._dynamo

    gan = GAN(tiny_cfg(), 10, torch.device("cpu"))
    z = torch.randn(4, 128)
    for fn, args in [(gan.G, (z, None)), (gan.D, (torch.randn(4, 3, 16, 16), None)),
                     (gan.normalizer.before_d_step, (gan.D,))]:
        torch._dynamo.reset()
        explanation = torch._dynamo.explain(fn)(*args)
        assert explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.slow
def test_compiled_training_runs(tiny_cfg, tmp_path):
    train(tiny_cfg(*SHORT, "train.compile=true"), str(tmp_path))
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["step"] == 1
