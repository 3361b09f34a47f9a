"""An ImageNet-style class-folder tree (``<root>/train/<wnid>/*.JPEG``, tests/data/conftest.py) at
128 px, read as ``dataset=imagenet`` (lazily, a label per class folder) and as ``dataset=folder``:
upright, left-right as written, red as written, the wider-than-square files center-cropped; a tiny
run trains two steps on it and ``sngan stats`` computes its statistics."""
from __future__ import annotations

import pytest
import torch

from sngan_cli.data import load_dataset

from tests.data.conftest import IMAGENET_CLASSES, assert_marked

N_IMAGES = sum(IMAGENET_CLASSES.values())
JPEG = {"tolerance": 48, "edge": 4}  # JPEG's chroma subsampling and the bicubic resize blur the block's edges


def test_imagenet_tree_is_read_lazily_with_a_label_per_class(imagenet_root):
    data = load_dataset("imagenet", str(imagenet_root), 128)
    assert data.images is None and len(data) == N_IMAGES and data.num_classes == len(IMAGENET_CLASSES)
    images, labels = zip(*(data.lazy[i] for i in range(len(data))))
    assert_marked(torch.stack(images), 128, **JPEG)
    assert list(labels) == [i for i, n in enumerate(IMAGENET_CLASSES.values()) for _ in range(n)]


def test_the_tree_as_an_image_folder(imagenet_root):
    data = load_dataset("folder", str(imagenet_root), 128)
    assert len(data) == N_IMAGES and data.labels is None
    assert_marked(data.images, 128, **JPEG)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imagenet", "folder"])
def test_a_tiny_run_trains_two_steps_at_128_px(name, imagenet_root, tiny_cfg, tmp_path):
    from sngan_cli.training.loop import train

    cfg = tiny_cfg(f"dataset={name}", f"dataset.root={imagenet_root}", "dataset.resolution=128", "train.steps=2")
    assert train(cfg, str(tmp_path / "run"))["step"] == 2


@pytest.mark.parametrize("name", ["imagenet", "folder"])
def test_stats_computes_the_statistics_of_every_image(name, imagenet_root, capsys):
    from sngan_cli.commands import stats

    stats.main([f"dataset={name}", f"dataset.root={imagenet_root}", "dataset.resolution=128", "protocol=standard",
                "detector=digits-classifier", "device=cpu"])
    assert f": {N_IMAGES} images of {name} at 128 px, detector digits-classifier" in capsys.readouterr().out
