"""CIFAR-10, STL-10 and SVHN read from files in torchvision's on-disk formats (tests/data/conftest.py):
each image comes out upright, left-right as written and red as written, with its label (SVHN's 10
is the digit 0), STL-10 at 48 px; a tiny run trains two steps on each, and ``sngan stats`` computes
its statistics."""
from __future__ import annotations

import pytest
import torch

from sngan_cli.data import load_dataset

from tests.data.conftest import N_CIFAR_BATCH, STL10_COUNTS, SVHN_LABELS, assert_marked


def test_cifar10_train_and_test_splits(cifar10_root):
    train = load_dataset("cifar10", str(cifar10_root), 32, download=False)
    assert len(train) == 5 * N_CIFAR_BATCH and train.num_classes == 10
    assert_marked(train.images, 32)
    assert train.labels.tolist() == list(range(10))
    test = load_dataset("cifar10", str(cifar10_root), 32, download=False, split="test")
    assert_marked(test.images, 32)
    assert test.labels.tolist() == [7, 8, 9]


def test_cifar10_resized(cifar10_root):
    assert_marked(load_dataset("cifar10", str(cifar10_root), 16, download=False).images, 16)


@pytest.mark.parametrize("split", ["train+unlabeled", "train", "unlabeled", "test"])
def test_stl10_is_read_column_major_and_resized_from_96_to_48(stl10_root, split):
    data = load_dataset("stl10", str(stl10_root), 48, download=False, split=split)
    expected = sum(STL10_COUNTS[s] for s in split.split("+"))
    assert len(data) == expected and data.labels is None and data.num_classes == 0  # used unconditionally
    assert_marked(data.images, 48)


def test_stl10_at_its_own_96_px(stl10_root):
    data = load_dataset("stl10", str(stl10_root), 96, download=False, split="train")
    assert_marked(data.images, 96)


def test_svhn_labels_10_are_the_digit_0(svhn_root):
    data = load_dataset("svhn", str(svhn_root), 32, download=False)
    assert len(data) == len(SVHN_LABELS) and data.num_classes == 10
    assert_marked(data.images, 32)
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


DATASETS = {"cifar10": ("cifar10_root", 32, 5 * N_CIFAR_BATCH),
            "stl10": ("stl10_root", 48, STL10_COUNTS["train"] + STL10_COUNTS["unlabeled"]),
            "svhn": ("svhn_root", 32, len(SVHN_LABELS))}


@pytest.mark.parametrize("name", DATASETS)
def test_a_tiny_run_trains_two_steps(name, request, tiny_cfg, tmp_path):
    from sngan_cli.training.loop import train

    fixture, resolution, _ = DATASETS[name]
    root = request.getfixturevalue(fixture)
    cfg = tiny_cfg(f"dataset={name}", f"dataset.root={root}", f"dataset.resolution={resolution}",
                   "dataset.download=false", "train.steps=2")
    assert train(cfg, str(tmp_path / "run"))["step"] == 2


@pytest.mark.parametrize("name", DATASETS)
def test_stats_computes_the_statistics_of_every_image(name, request, capsys):
    from sngan_cli.commands import stats

    fixture, resolution, n = DATASETS[name]
    root = request.getfixturevalue(fixture)
    stats.main([f"dataset={name}", f"dataset.root={root}", "dataset.download=false", "protocol=standard",
                "detector=digits-classifier", "device=cpu"])
    assert f": {n} images of {name} at {resolution} px, detector digits-classifier" in capsys.readouterr().out
