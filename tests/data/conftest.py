"""Tiny datasets written in the on-disk formats torchvision reads (CIFAR-10's pickles, STL-10's
column-major binaries, SVHN's .mat) and an ImageNet-style class-folder tree, with torchvision's md5
check replaced by a file-exists check (the files are ours, not the published ones).

Every image is the same asymmetric picture: pure red, with a white block in the top-left corner
twice as wide as it is tall (:func:`marked_image`). A flip moves the block to another corner, a
transposition makes it taller than wide, a swapped channel order turns the red blue:
:func:`assert_marked` tells each apart.
"""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

N_CIFAR_BATCH = 2  # images per CIFAR-10 batch file: 5 training batches -> 10 images (>= TINY's batch of 8)


def marked_image(size: int) -> np.ndarray:
    """uint8 (H, W, 3): red, with a white block over the top quarter of the rows and left half of the columns."""
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[..., 0] = 255
    image[: size // 4, : size // 2] = 255
    return image


def assert_marked(images: torch.Tensor, resolution: int, tolerance: int = 0, edge: int = 1) -> None:
    """Every image of uint8 (N, 3, R, R) is :func:`marked_image` (``edge`` pixels away from the block's
    edges and the border, where a resize or JPEG blends; values within ``tolerance``): the block
    top-left and wider than tall, the rest pure red."""
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, resolution, resolution)
    r, e = resolution, edge
    inside = images[:, :, e: r // 4 - e, e: r // 2 - e].flatten(2).float()
    outside = {"right of the block": images[:, :, e: r // 4 - e, r // 2 + e: r - e],
               "below the block": images[:, :, r // 4 + e: r - e, e: r // 2 - e],
               "bottom right": images[:, :, r // 2: r - e, r // 2: r - e]}
    assert (inside >= 255 - tolerance).all(), "the white block is not in the top-left corner"
    for where, region in outside.items():
        region = region.flatten(2).float()
        assert (region[:, 0] >= 255 - tolerance).all(), f"{where}: not red (channel order?)"
        assert (region[:, 1:] <= tolerance).all(), f"{where}: not red (orientation or channel order?)"


@pytest.fixture
def files_without_md5(monkeypatch):
    """torchvision's integrity check passes for any file that exists (our tiny files have other md5s)."""
    import torchvision.datasets.cifar
    import torchvision.datasets.stl10
    import torchvision.datasets.svhn

    def exists(fpath, md5=None) -> bool:
        return os.path.isfile(fpath)

    for module in (torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.svhn):
        monkeypatch.setattr(module, "check_integrity", exists)


def _chw_rows(image: np.ndarray, n: int) -> np.ndarray:
    """n copies of an (H, W, 3) image as CIFAR-10 rows: 3072 bytes each, the red plane, then green, then blue."""
    return np.tile(image.transpose(2, 0, 1).reshape(1, -1), (n, 1))


@pytest.fixture
def cifar10_root(tmp_path, files_without_md5):
    """cifar-10-batches-py/ with data_batch_1..5 (2 images each, labels 0..9), test_batch and batches.meta."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    image = marked_image(32)
    for k in range(1, 6):
        batch = {"batch_label": f"training batch {k} of 5", "data": _chw_rows(image, N_CIFAR_BATCH),
                 "labels": [2 * (k - 1) + i for i in range(N_CIFAR_BATCH)]}
        with open(folder / f"data_batch_{k}", "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"batch_label": "testing batch 1 of 1", "data": _chw_rows(image, 3), "labels": [7, 8, 9]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, f)
    return tmp_path


def _stl10_bytes(image: np.ndarray, n: int) -> bytes:
    """n copies of a (96, 96, 3) image as STL-10 stores them: per channel, column by column (column-major)."""
    return np.tile(image.transpose(2, 1, 0)[None], (n, 1, 1, 1)).tobytes()


STL10_COUNTS = {"train": 4, "unlabeled": 5, "test": 2}


@pytest.fixture
def stl10_root(tmp_path, files_without_md5):
    """stl10_binary/ with train_X/y (4 images), unlabeled_X (5) and test_X/y (2), at 96 px."""
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    image = marked_image(96)
    for split, n in STL10_COUNTS.items():
        (folder / f"{split}_X.bin").write_bytes(_stl10_bytes(image, n))
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes(np.arange(1, n + 1, dtype=np.uint8).tobytes())  # 1-based
    return tmp_path


SVHN_LABELS = [10, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # as the .mat stores them: 10 is the digit 0


@pytest.fixture
def svhn_root(tmp_path, files_without_md5):
    """train_32x32.mat: X (32, 32, 3, N) and y (N, 1) with labels 1..10."""
    from scipy.io import savemat

    n = len(SVHN_LABELS)
    x = np.repeat(marked_image(32)[..., None], n, axis=3)
    savemat(tmp_path / "train_32x32.mat", {"X": x, "y": np.array(SVHN_LABELS, dtype=np.uint8).reshape(n, 1)})
    return tmp_path


IMAGENET_CLASSES = {"n01440764": 4, "n01443537": 4}  # two classes, 8 images: TINY's batch


@pytest.fixture
def imagenet_root(tmp_path):
    """train/<wnid>/*.JPEG at 256 px (shorter side; 256 x 320, so the resize to 128 also crops)."""
    image = marked_image(256)
    wide = np.concatenate([np.full((256, 32, 3), (0, 0, 255), np.uint8), image,
                           np.full((256, 32, 3), (0, 0, 255), np.uint8)], axis=1)  # blue margins, cropped away
    for wnid, n in IMAGENET_CLASSES.items():
        folder = tmp_path / "train" / wnid
        folder.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(wide).save(folder / f"{wnid}_{i}.JPEG", quality=95)
    return tmp_path
