"""`sngan spectrum`: exact singular values of D's effective weights, on weights set by hand."""
from __future__ import annotations

import functools
import json

import pytest
import torch
from omegaconf import OmegaConf

from sngan_cli.cli import main as cli_main
from sngan_cli.models import build_discriminator
from sngan_cli.norms import build_normalizer, raw_weight, weight_layers
from sngan_cli.norms.spectral import spectral_layers
from tests.conftest import TINY, compose_train

KNOWN = torch.tensor([5.0, 3.0, 2.0, 0.5])  # singular values given to D's first layer


def _orthogonal(n: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


@functools.lru_cache(maxsize=None)
def _config(norm: str) -> str:
    return OmegaConf.to_yaml(compose_train(TINY + [f"norm={norm}"]), resolve=True)


def _checkpoint(tmp_path, norm: str) -> tuple:
    """A checkpoint whose D's first layer is U diag(KNOWN) V^T (flattened), for norm=``norm``."""
    config = OmegaConf.to_container(OmegaConf.create(_config(norm)))
    normalizer = build_normalizer(OmegaConf.create(config["norm"]))
    D = build_discriminator("cnn", config["dataset"]["resolution"], config["arch"]["width"], None, 0,
                            normalizer.feature_norm)
    normalizer.apply(D)
    name, first = next(weight_layers(D))
    weight = raw_weight(first)
    rows, cols = weight.shape[0], weight[0].numel()
    assert rows >= len(KNOWN)
    U, V = _orthogonal(rows, 0)[:, :len(KNOWN)], _orthogonal(cols, 1)[:, :len(KNOWN)]
    with torch.no_grad():
        weight.copy_((U @ torch.diag(KNOWN.double()) @ V.T).reshape(weight.shape).float())
        for layer, _, sn in spectral_layers(D):
            if layer == name:  # the exact top singular vectors: the power-iteration estimate is exact
                sn.u.copy_(U[:, 0].float())
                sn.v.copy_(V[:, 0].float())
    path = tmp_path / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save({"step": 1, "G": {}, "D": D.state_dict(), "config": config, "num_classes": 0}, path)
    return path, name


def _spectrum(tmp_path, norm: str) -> tuple:
    path, name = _checkpoint(tmp_path, norm)
    cli_main(["spectrum", f"ckpt={path}", "device=cpu"])
    record = json.loads((path.parent / "spectrum.json").read_text())
    layers = {layer["name"]: layer for layer in record["layers"]}
    assert (path.parent / "spectrum.png").read_bytes().startswith(b"\x89PNG")
    return layers[name], layers


def test_unnormalized_weights_give_their_singular_values(tmp_path, capsys):
    first, layers = _spectrum(tmp_path, "none")
    values = first["singular_values"]
    assert values[:4] == pytest.approx(KNOWN.tolist(), rel=1e-5) and max(values[4:], default=0) < 1e-5
    assert values == sorted(values, reverse=True)
    assert first["sigma_exact"] == pytest.approx(5.0, rel=1e-5) == first["sigma_exact_raw"]
    assert first["sigma_estimate"] is None  # norm=none keeps no estimate
    assert set(first) >= {"name", "singular_values", "sigma_exact", "sigma_estimate"}
    assert "sigma exact" in capsys.readouterr().out


def test_spectral_norm_divides_by_the_estimate(tmp_path):
    first, layers = _spectrum(tmp_path, "spectral")
    assert first["sigma_estimate"] == pytest.approx(5.0, rel=1e-5)  # raw weight's sigma, estimated
    assert first["singular_values"][:4] == pytest.approx((KNOWN / 5.0).tolist(), rel=1e-5)
    assert first["sigma_exact"] == pytest.approx(1.0, rel=1e-5)
    for layer in layers.values():  # every layer: effective sigma = exact raw sigma / |estimate| (K = 1); u, v
        # never iterated here can give a negative estimate, which only flips the weight's sign
        assert layer["sigma_exact"] == pytest.approx(layer["sigma_exact_raw"] / abs(layer["sigma_estimate"]), rel=1e-4)


def test_frobenius_normalization_keeps_the_shape_of_the_spectrum(tmp_path):
    first, _ = _spectrum(tmp_path, "frobenius")
    assert first["singular_values"][:4] == pytest.approx((KNOWN / KNOWN.norm()).tolist(), rel=1e-5)


def test_run_directory_and_errors(tmp_path):
    path, _ = _checkpoint(tmp_path, "none")
    cli_main(["spectrum", f"run={tmp_path}", "device=cpu"])
    assert (path.parent / "spectrum.json").exists()
    with pytest.raises(SystemExit):
        cli_main(["spectrum", "device=cpu"])
