"""Every experiment preset composes, sweeps the intended axes, and gives each sweep point its own
run directory."""
from __future__ import annotations

import itertools
from importlib import resources
from math import prod

import pytest
from omegaconf import OmegaConf

from sngan_cli.config import compose, validate

SETTINGS = "A,B,C,D,E,F"
NINE = "clip,gan_gp,wgan_gp,batch_norm,layer_norm,weight_norm,orthonormal,sn_gan,sn_gan_hinge"
EIGHT = "clip,gan_gp,wgan_gp,batch_norm,layer_norm,weight_norm,orthonormal,sn_gan"
SEEDS = "0,1,2"
# preset -> (dataset, sweep axes, fixed keys)
EXPECTED = {
    "table2_cifar10_cnn": ("cifar10", {"method": NINE, "setting": SETTINGS, "seed": SEEDS}, {}),
    "table2_stl10_cnn": ("stl10", {"method": NINE, "setting": SETTINGS, "seed": SEEDS}, {}),
    "table2_stl10_cnn_2x": ("stl10", {"method": "orthonormal,sn_gan,sn_gan_hinge", "setting": SETTINGS, "seed": SEEDS},
                            {"train.steps": 200000, "name": "2x"}),
    "table2_resnet_cifar10": ("cifar10", {"method": "resnet_orthonormal_hinge,resnet_sn_gan_hinge", "seed": SEEDS}, {}),
    "table2_resnet_stl10": ("stl10", {"method": "resnet_orthonormal_hinge,resnet_sn_gan_hinge", "seed": SEEDS}, {}),
    "figure1_cifar10": ("cifar10", {"method": EIGHT, "setting": SETTINGS, "seed": SEEDS}, {}),
    "figure2_stl10": ("stl10", {"method": EIGHT, "setting": SETTINGS, "seed": SEEDS}, {}),
    "figure4_stl10": ("stl10", {"method": "orthonormal,sn_gan", "arch.d_last_channels": "16,32,64,128,256,512,1024",
                                "seed": SEEDS}, {"setting.name": "C"}),
    "figure11_ndis": ("cifar10", {"method": "weight_norm,sn_gan", "setting.n_dis": "1,2,5,10", "seed": SEEDS},
                      {"setting.name": "D"}),
    "table7_wgan_gp": ("cifar10", {"+experiment/table7": "cnn_baseline,cnn_frobenius,cnn_weight,cnn_sn,resnet_baseline,resnet_sn,resnet_sn_wide_d",
                                   "seed": SEEDS}, {"loss.name": "wasserstein"}),
    "digits_miniature": ("digits", {"method": "clip,wgan_gp,weight_norm,orthonormal,sn_gan", "setting": SETTINGS,
                                    "seed": "0"}, {"dataset.resolution": 16, "train.steps": 800}),
    "digits_miniature_seeds": ("digits", {"+experiment/miniature_best": "clip,wgan_gp,weight_norm,orthonormal,sn_gan",
                                          "seed": SEEDS}, {"dataset.resolution": 16, "train.steps": 800,
                                                           "train.ema": True}),
}
RUN_COUNTS = {"table2_cifar10_cnn": 162, "table2_stl10_cnn_2x": 54, "figure4_stl10": 42, "figure11_ndis": 24,
              "table7_wgan_gp": 21, "digits_miniature": 30, "digits_miniature_seeds": 15}


@pytest.fixture(scope="module")
def hydra_compose():
    return lambda overrides: compose(overrides, hydra=True)


def _options(group: str):
    folder = resources.files("sngan_cli.conf").joinpath(*group.split("/"))
    return {entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def test_every_preset_is_tested():
    assert _options("experiment") == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_composes_with_its_axes(hydra_compose, name):
    dataset, axes, fixed = EXPECTED[name]
    cfg = hydra_compose([f"experiment={name}"])
    assert {k: str(v) for k, v in cfg.hydra.sweeper.params.items()} == axes
    assert cfg.dataset.name == dataset
    for key, value in fixed.items():
        assert OmegaConf.select(cfg, key) == value
    if name in RUN_COUNTS:
        assert prod(len(v.split(",")) for v in axes.values()) == RUN_COUNTS[name]
    for axis, values in axes.items():  # every value names an option that exists
        group = {"method": "method", "setting": "setting", "+experiment/table7": "experiment/table7",
                 "+experiment/miniature_best": "experiment/miniature_best"}.get(axis)
        if group:
            assert set(values.split(",")) <= _options(group)


@pytest.mark.parametrize("name", ["figure4_stl10", "figure11_ndis", "table7_wgan_gp"])
def test_each_sweep_point_has_its_own_run_directory(hydra_compose, name):
    _, axes, _ = EXPECTED[name]
    swept = [k for k in axes if k not in ("method", "seed")]
    first = {k: axes[k].split(",")[0] for k in ("method", "seed") if k in axes}
    directories = set()
    for values in itertools.product(*(axes[k].split(",") for k in swept)):
        overrides = [f"experiment={name}", *(f"{k}={v}" for k, v in {**first, **dict(zip(swept, values))}.items())]
        cfg = hydra_compose(overrides)
        validate(cfg)
        directories.add(cfg.hydra.sweep.subdir)
    assert len(directories) == prod(len(axes[k].split(",")) for k in swept)


def test_table7_rows(hydra_compose):
    wide = hydra_compose(["experiment=table7_wgan_gp", "+experiment/table7=resnet_sn_wide_d"])
    assert (wide.arch.name, wide.norm.name, wide.loss.name, wide.setting.name, wide.arch.d_width) == \
        ("resnet", "spectral_gamma", "wasserstein", "resnet", 1.5)
    cnn = hydra_compose(["experiment=table7_wgan_gp", "+experiment/table7=cnn_baseline"])
    assert (cnn.arch.name, cnn.norm.name, cnn.setting.name) == ("cnn", "gp", "A")
    for row, norm in (("cnn_weight", "weight_gamma"), ("cnn_frobenius", "frobenius_gamma")):
        cfg = hydra_compose(["experiment=table7_wgan_gp", f"+experiment/table7={row}"])
        assert (cfg.arch.name, cfg.norm.name, cfg.loss.name, cfg.setting.name) == ("cnn", norm, "wasserstein", "A")


def test_the_miniature_seeds_take_each_method_at_its_best_miniature_setting(hydra_compose):
    expected = {"clip": ("clip", "standard", "D"), "wgan_gp": ("gp", "wasserstein", "D"),
                "weight_norm": ("weight", "standard", "E"), "orthonormal": ("orthonormal", "standard", "E"),
                "sn_gan": ("spectral", "standard", "D")}
    for preset, (norm, loss, setting) in expected.items():
        cfg = hydra_compose(["experiment=digits_miniature_seeds", f"+experiment/miniature_best={preset}"])
        validate(cfg)
        assert (cfg.norm.name, cfg.loss.name, cfg.setting.name, cfg.setting.n_dis) == \
            (norm, loss, setting, {"D": 5, "E": 5}[setting])


def test_command_line_overrides_win(hydra_compose):
    cfg = hydra_compose(["experiment=table2_stl10_cnn_2x", "dataset=cifar10", "method=sn_gan", "setting=D"])
    assert (cfg.dataset.name, cfg.norm.name, cfg.setting.name, cfg.train.steps) == ("cifar10", "spectral", "D", 200000)
    assert cfg.hydra.sweep.subdir == "cifar10/cnn-spectral-standard-D/seed0-2x"
