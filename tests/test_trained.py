"""Generation for sampling and evaluation (sngan_cli.trained)."""
import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.models import build_generator
from sngan_cli.trained import TrainedGenerator, generate, load_discriminator, load_generator


def test_generated_batches_stay_on_the_generators_device():
    # the meta device has no data: any copy to the host would raise, so this checks that evaluation's
    # images never leave G's device before the detector has them
    G = build_generator("cnn", 16, 128, 0.125).to("meta").eval()
    tg = TrainedGenerator(G=G, z_dim=128, num_classes=0, resolution=16, step=0, config={}, path="-")
    tg.latent = lambda n, generator, label=None: (torch.empty(n, 128, device="meta"), None)
    batches = list(generate(tg, 10, seed=0, batch_size=4))
    assert [tuple(images.shape) for images, _ in batches] == [(4, 3, 16, 16), (4, 3, 16, 16), (2, 3, 16, 16)]
    assert all(images.device.type == "meta" and images.dtype == torch.uint8 for images, _ in batches)


def _edited_copy(tiny_checkpoint, tmp_path, edit):
    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    edit(ckpt)
    path = tmp_path / "edited.pt"
    torch.save(ckpt, path)
    return str(path)


def test_an_edited_width_is_refused_by_both_loaders(tiny_checkpoint, tmp_path):
    path = _edited_copy(tiny_checkpoint, tmp_path, lambda c: c["config"]["arch"].update(width=0.25))
    with pytest.raises(SnganError, match="G weights do not fit"):
        load_generator(path, torch.device("cpu"))
    with pytest.raises(SnganError, match="D weights do not fit"):
        load_discriminator(path, torch.device("cpu"))


@pytest.mark.parametrize("norm", ["spectral", "gp"])
def test_a_checkpoint_of_an_older_version_with_every_normalizer_s_options_loads(norm, tmp_path):
    """Before each normalizer had its own options, a checkpoint saved all of them under ``norm``: the
    loaders keep those the normalizer has."""
    from tests.conftest import _trained_checkpoint

    path = _trained_checkpoint(tmp_path, norm, f"norm={norm}")
    edited = _edited_copy(path, tmp_path, lambda c: c["config"]["norm"].update(
        {"n_power_iterations": 1, "power_iteration": "every_forward", "lipschitz": 1.0, "clip": 0.01,
         "clip_params": "all", "gp_lambda": 10.0, "ortho_beta": 1e-4, "gamma_init": None}))
    D, normalizer, _ = load_discriminator(edited, torch.device("cpu"))
    assert normalizer.name == norm and type(normalizer.params).__name__ == type(normalizer).config.__name__
    assert load_generator(edited, torch.device("cpu")).step == 1


def test_an_edited_z_dim_is_refused(tiny_checkpoint, tmp_path):
    path = _edited_copy(tiny_checkpoint, tmp_path, lambda c: c["config"]["arch"].update(z_dim=64))
    with pytest.raises(SnganError, match=r"edited.pt: its G weights do not fit"):
        load_generator(path, torch.device("cpu"))


def test_nan_weights_are_warned_about(tiny_checkpoint, tmp_path):
    def poison(ckpt):
        name = next(k for k, v in ckpt["G"].items() if v.is_floating_point())
        ckpt["G"][name] = torch.full_like(ckpt["G"][name], float("nan"))

    path = _edited_copy(tiny_checkpoint, tmp_path, poison)
    with pytest.warns(UserWarning, match="NaN or infinite weights"):
        load_generator(path, torch.device("cpu"))


def test_a_moving_average_that_does_not_fit_says_what_does_not(tiny_checkpoint, tmp_path):
    shrunk = []

    def shrink_one_ema_weight(ckpt):
        ckpt["G_ema"] = {k: v.clone() for k, v in ckpt["G"].items()}
        key = next(k for k, v in ckpt["G_ema"].items() if k.endswith("weight") and v.dim() > 1)
        ckpt["G_ema"][key] = ckpt["G_ema"][key][:1]
        shrunk.append(key)

    path = _edited_copy(tiny_checkpoint, tmp_path, shrink_one_ema_weight)
    with pytest.raises(SnganError) as caught:
        load_generator(path, torch.device("cpu"), g="ema")
    message = str(caught.value)
    assert "G_ema weights do not fit" in message and f"size mismatch for {shrunk[0]}" in message
    assert "\n" not in message and not message.rstrip().endswith(":")
