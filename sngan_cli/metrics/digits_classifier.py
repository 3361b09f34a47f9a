"""The `digits-classifier` detector: a small CNN standing in for Inception on the offline `digits` set.

Inception features of upscaled 8×8 grayscale digits say little, and its weights may be out of
reach offline; this classifier, trained in seconds on CPU from scikit-learn's bundled digits,
gives FID-style features (its 64-d penultimate layer) and IS-style class logits (10 digits) for
the demo (the protocols of metrics/protocol.py, with this detector named in every record).

It is trained deterministically on a fixed 80 % split of the digits, rendered as the dataset
renders them (0..16 → 0..255, bilinear upscale, rounded to uint8, three equal channels) at several
resolutions, and cached as a state dict keyed by VERSION.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sngan_cli.atomic import atomic_write
from sngan_cli.data.digits import render_digits
from sngan_cli.metrics.cache import default_cache_dir, file_sha256
from sngan_cli.metrics.detector import Detector

NAME = "digits-classifier"
# Bump whenever the network, the rendering, the split or the training changes: it keys the cache.
VERSION = "v1"
INPUT_SIZE = 16
FEATURE_DIM = 64
NUM_CLASSES = 10
TRAIN_RESOLUTIONS = (16, 32, 64)
HOLDOUT_FRACTION = 0.2
SPLIT_SEED = 0
TRAIN_SEED = 0
EPOCHS = 8
BATCH_SIZE = 128
LEARNING_RATE = 3e-3

log = logging.getLogger(__name__)


def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 8, 8] in 0..16, labels [N]) of the fixed `train` or `holdout` split."""
    from sklearn.datasets import load_digits

    if split not in ("train", "holdout"):
        raise ValueError(f"split must be 'train' or 'holdout', got {split!r}")
    digits = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits.target))
    n_holdout = int(round(HOLDOUT_FRACTION * len(order)))
    chosen = order[:n_holdout] if split == "holdout" else order[n_holdout:]
    return digits.images[chosen], digits.target[chosen]


class DigitsNet(nn.Module):
    """uint8 RGB images [N, 3, H, W] of any size → (features [N, 64], logits [N, 10])."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * (INPUT_SIZE // 4) ** 2, FEATURE_DIM),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """Grayscale in [-1, 1] at INPUT_SIZE × INPUT_SIZE."""
        gray = images.to(torch.float32).mean(dim=1, keepdim=True) / 127.5 - 1
        if gray.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            # antialias: large renders are downscaled without aliasing the strokes away
            gray = F.interpolate(
                gray, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True
            )
        return gray

    def embed(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.conv(gray)
        return features, self.head(features)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embed(self.preprocess(images))


def train_digits_classifier(seed: int = TRAIN_SEED) -> DigitsNet:
    """Train on the `train` split, on CPU in one thread and without touching the global RNG: same
    seed, same weights."""
    images, labels = load_digits_split("train")
    with torch.no_grad():
        inputs = torch.cat([DigitsNet.preprocess(render_digits(images, r)) for r in TRAIN_RESOLUTIONS])
    targets = torch.from_numpy(labels).long().repeat(len(TRAIN_RESOLUTIONS))

    # One thread: the ops are too small to gain from more (on a busy machine extra threads only
    # wait on each other), and the weights then do not depend on the machine's core count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = DigitsNet()
            optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
            for _ in range(EPOCHS):
                for batch in torch.randperm(len(targets)).split(BATCH_SIZE):
                    loss = F.cross_entropy(net.embed(inputs[batch])[1], targets[batch])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return net.eval()


def cached_weights_path(cache_dir: str | os.PathLike | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / f"{NAME}-{VERSION}.pt"


def load_digits_classifier(
    weights_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> tuple[DigitsNet, str]:
    """The classifier from `weights_path`, else from the cache, else trained and cached; and the
    SHA-256 of its weights file."""
    path = Path(weights_path) if weights_path else cached_weights_path(cache_dir)
    if not weights_path and not path.is_file():
        log.info("training the %s detector (a few seconds); caching it in %s", NAME, path)
        state = train_digits_classifier().state_dict()
        atomic_write(path, lambda f: torch.save(state, f))
    net = DigitsNet()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval(), file_sha256(path)


def build_digits_detector(
    weights_path: str | os.PathLike | None = None,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    cache_dir: str | os.PathLike | None = None,
) -> Detector:
    """The `digits-classifier` detector."""
    net, sha256 = load_digits_classifier(weights_path, cache_dir)
    return Detector(
        net,
        name=NAME,
        weights_sha256=sha256,
        feature_dim=FEATURE_DIM,
        num_classes=NUM_CLASSES,
        device=device,
        batch_size=batch_size,
    )
