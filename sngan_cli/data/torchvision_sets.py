"""CIFAR-10, STL-10 (unlabeled + train, 96 -> 48 px) and SVHN through torchvision.

``dataset.split`` picks the split(s) (cifar10: train or test; stl10: train+unlabeled, train,
unlabeled or test; svhn: train, test or extra) and ``dataset.antialias`` the resize filter
(antialiased bilinear, or plain bilinear), neither of which the paper states (docs/fidelity.md).

Downloaded into ``dataset.root`` when ``dataset.download`` is true and the network allows; offline
without the files the run stops with one line naming the root and how to fill it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from sngan_cli import SnganError
from sngan_cli.data import DatasetConfig, ImageSet, register
from sngan_cli.data.transforms import resize_uint8


@dataclass
class TorchvisionSetConfig(DatasetConfig):
    root: str = "data"
    split: str = "train"  # which split(s) to train on (SPLITS)
    antialias: bool = True  # resizing to `resolution`: antialiased bilinear, or plain bilinear


_HOW_TO = {
    "cifar10": "cifar-10-python.tar.gz (or its extracted cifar-10-batches-py/) from "
               "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "stl10": "stl10_binary.tar.gz (or its extracted stl10_binary/) from "
             "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
    "svhn": "train_32x32.mat from http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
}


def _open(name: str, factory, root: str, download: bool):
    try:
        return factory(root, download=False)
    except (RuntimeError, FileNotFoundError, OSError):
        if not download:
            raise SnganError(f"dataset={name}: not found under {os.path.abspath(root)}; put "
                             f"{_HOW_TO[name]} there, or set dataset.download=true on a machine online") from None
    try:
        return factory(root, download=True)
    except Exception as e:  # network errors come in many types
        raise SnganError(f"dataset={name}: not found under {os.path.abspath(root)} and the download failed "
                         f"({type(e).__name__}); put {_HOW_TO[name]} there, or set dataset.root to where it is") from None


SPLITS = {"cifar10": ("train", "test"), "stl10": ("train+unlabeled", "train", "unlabeled", "test"),
          "svhn": ("train", "test", "extra")}


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS[name]:
        raise SnganError(f"dataset.split={split} is not a split of {name}: choose one of {', '.join(SPLITS[name])}")


@register("cifar10", TorchvisionSetConfig(resolution=32))
def load_cifar10(root: str, resolution: int, download: bool, split: str = "train", antialias: bool = True,
                 **_) -> ImageSet:
    from torchvision.datasets import CIFAR10

    _check_split("cifar10", split)
    ds = _open("cifar10", lambda r, download: CIFAR10(r, train=split == "train", download=download), root, download)
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return ImageSet("cifar10", resolution, 10, resize_uint8(images, resolution, antialias=antialias),
                    torch.tensor(ds.targets))


# the 105K of the paper, downscaled from 96 to 48 px with antialiased bilinear filtering: the paper names
# neither the split nor the filter (docs/fidelity.md), so both are options
@register("stl10", TorchvisionSetConfig(resolution=48, split="train+unlabeled"))
def load_stl10(root: str, resolution: int, download: bool, split: str = "train+unlabeled", antialias: bool = True,
               **_) -> ImageSet:
    from torchvision.datasets import STL10

    _check_split("stl10", split)
    ds = _open("stl10", lambda r, download: STL10(r, split=split, download=download), root, download)
    images = resize_uint8(torch.from_numpy(ds.data), resolution, antialias=antialias)
    # unlabeled images carry label -1: STL-10 is used unconditionally
    return ImageSet("stl10", resolution, 0, images, None)


@register("svhn", TorchvisionSetConfig(resolution=32))
def load_svhn(root: str, resolution: int, download: bool, split: str = "train", antialias: bool = True,
              **_) -> ImageSet:
    from torchvision.datasets import SVHN

    _check_split("svhn", split)
    ds = _open("svhn", lambda r, download: SVHN(r, split=split, download=download), root, download)
    images = resize_uint8(torch.from_numpy(np.ascontiguousarray(ds.data)), resolution, antialias=antialias)
    return ImageSet("svhn", resolution, 10, images, torch.from_numpy(ds.labels).long())
