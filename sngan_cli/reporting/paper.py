"""The paper's numbers, stored once (Sec. 4.1 and Appendix E of the paper): Table 2 (IS and FID of each method at its
best setting, CIFAR-10 and STL-10) and Table 7 (WGAN-GP with reparametrizations, CIFAR-10, Appendix E),
with the configuration (arch, norm, loss, ...) that makes a run belong to each row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

PAPER_DATASETS = ("cifar10", "stl10")
REFERENCE_DATASET = "cifar10"  # shown beside datasets the paper did not use, as the reference ordering
DATASET_LABELS = {"cifar10": "CIFAR-10", "stl10": "STL-10", "svhn": "SVHN", "imagenet": "ImageNet",
                  "digits": "digits", "folder": "image folder"}


@dataclass(frozen=True)
class PaperScore:
    is_mean: Optional[float]
    is_std: Optional[float]
    fid: Optional[float]
    fid_std: Optional[float] = None


@dataclass(frozen=True)
class Row:
    """A row of a paper table and the runs that belong to it."""

    key: str
    label: str
    arch: str
    norm: Optional[str]  # None: no sngan configuration reproduces the row
    loss: str
    twice: bool = False  # the "2x updates" rows: runs named 2x
    d_width: float = 1.0
    paper: Dict[str, PaperScore] = field(default_factory=dict)
    note: str = ""


def _s(is_mean: Optional[float] = None, is_std: Optional[float] = None, fid: Optional[float] = None,
       fid_std: Optional[float] = None) -> PaperScore:
    return PaperScore(is_mean, is_std, fid, fid_std)


TABLE2: Tuple[Row, ...] = (
    Row("clip", "Weight clipping", "cnn", "clip", "standard",
        paper={"cifar10": _s(6.41, .11, 42.6), "stl10": _s(7.57, .10, 64.2)}),
    Row("gan_gp", "GAN-GP", "cnn", "gp", "standard", paper={"cifar10": _s(6.93, .08, 37.7)}),
    Row("wgan_gp", "WGAN-GP", "cnn", "gp", "wasserstein",
        paper={"cifar10": _s(6.68, .06, 40.2), "stl10": _s(8.42, .13, 55.1)}),
    Row("batch_norm", "Batch Norm.", "cnn", "batch", "standard", paper={"cifar10": _s(6.27, .10, 56.3)}),
    Row("layer_norm", "Layer Norm.", "cnn", "layer", "standard",
        paper={"cifar10": _s(7.19, .12, 33.9), "stl10": _s(7.61, .12, 75.6)}),
    Row("weight_norm", "Weight Norm.", "cnn", "weight", "standard",
        paper={"cifar10": _s(6.84, .07, 34.7), "stl10": _s(7.16, .10, 73.4)}),
    Row("orthonormal", "Orthonormal", "cnn", "orthonormal", "standard",
        paper={"cifar10": _s(7.40, .12, 29.0), "stl10": _s(8.56, .07, 46.7)}),
    Row("sn_gan", "SN-GANs", "cnn", "spectral", "standard",
        paper={"cifar10": _s(7.42, .08, 29.3), "stl10": _s(8.28, .09, 53.1)}),
    Row("orthonormal_2x", "Orthonormal (2x updates)", "cnn", "orthonormal", "standard", twice=True,
        paper={"stl10": _s(8.67, .08, 44.2)}),
    Row("sn_gan_2x", "SN-GANs (2x updates)", "cnn", "spectral", "standard", twice=True,
        paper={"stl10": _s(8.69, .09, 47.5)}),
    Row("sn_gan_hinge", "SN-GANs, Eq. (17)", "cnn", "spectral", "hinge", paper={"cifar10": _s(7.58, .12, 25.5)}),
    Row("sn_gan_hinge_2x", "SN-GANs, Eq. (17) (2x updates)", "cnn", "spectral", "hinge", twice=True,
        paper={"stl10": _s(8.79, .14, 43.2)}),
    Row("resnet_orthonormal_hinge", "ResNet: Orthonormal, Eq. (17)", "resnet", "orthonormal", "hinge",
        paper={"cifar10": _s(7.92, .04, 23.8, .58), "stl10": _s(8.72, .06, 42.4, .99)}),
    Row("resnet_sn_gan_hinge", "ResNet: SN-GANs, Eq. (17)", "resnet", "spectral", "hinge",
        paper={"cifar10": _s(8.22, .05, 21.7, .21), "stl10": _s(9.10, .04, 40.1, .50)}),
)

REAL_DATA = {"cifar10": _s(11.24, .12, 7.8), "stl10": _s(26.08, .26, 7.9)}

TABLE7: Tuple[Row, ...] = (
    Row("cnn_baseline", "WGAN-GP (standard CNN, baseline)", "cnn", "gp", "wasserstein",
        paper={"cifar10": _s(6.68, .06, 40.1)}),
    Row("cnn_frobenius", "w/ Frobenius Norm.", "cnn", "frobenius_gamma", "wasserstein", paper={"cifar10": _s()},
        note="the paper reports N/A: training collapsed at an early stage"),
    Row("cnn_weight", "w/ Weight Norm.", "cnn", "weight_gamma", "wasserstein", paper={"cifar10": _s(6.36, .04, 42.4)}),
    Row("cnn_sn", "w/ Spectral Norm.", "cnn", "spectral_gamma", "wasserstein", paper={"cifar10": _s(7.20, .08, 32.0)}),
    Row("resnet_baseline", "WGAN-GP (ResNet, baseline)", "resnet", "gp", "wasserstein",
        paper={"cifar10": _s(7.80, .11, 24.5)}),
    Row("resnet_sn", "w/ Spectral norm.", "resnet", "spectral_gamma", "wasserstein",
        paper={"cifar10": _s(7.85, .06, 23.6)}),
    Row("resnet_sn_wide_d", "w/ Spectral norm. (1.5x feature maps in D)", "resnet", "spectral_gamma", "wasserstein",
        d_width=1.5, paper={"cifar10": _s(7.96, .06, 22.5)}),
)


def paper_dataset(dataset: str) -> str:
    """The paper's column shown beside ``dataset``: itself, or CIFAR-10 as the reference ordering."""
    return dataset if dataset in PAPER_DATASETS else REFERENCE_DATASET


def dataset_label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)
