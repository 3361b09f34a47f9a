"""The `digits-classifier` detector: a small CNN standing in for Inception on the offline `digits` set.

Inception features of upscaled 8×8 grayscale digits say little, and its weights may be out of
reach offline; this classifier, trained in seconds on CPU from scikit-learn's bundled digits,
gives FID-style features (its 64-d penultimate layer) and IS-style class logits (10 digits) for
the demo (the protocols of metrics/protocol.py, with this detector named in every record).

It is trained deterministically on a fixed 80 % split of the digits, rendered as the dataset
renders them (0..16 → 0..255, bilinear upscale, rounded to uint8, three equal channels) at several
resolutions, and cached under a name keyed by a hash of its recipe (:func:`recipe`: VERSION, the
constants below, the torch version). The file holds the recipe and the SHA-256 of the weights
(:func:`weights_sha256`) beside the state dict; a file that does not load, is no such record, has
another recipe, other shapes or weights that do not match their SHA-256 is named in one warning and
rebuilt (the README's Digits paragraph). Training is deterministic, so a rebuilt cache is the fresh
one, byte for byte.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write, describe_os_error
from sngan_cli.data.digits import render_digits
from sngan_cli.metrics.cache import default_cache_dir
from sngan_cli.metrics.detector import Detector

NAME = "digits-classifier"
# Bump whenever the network, the rendering, the split or the training code changes: it is part of
# the recipe that keys the cache (the constants below are in it by value).
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


def recipe() -> dict:
    """What the trained weights are a function of. The torch version is in it because training is
    bit-exact for one torch version only (its kernels and its random streams may change)."""
    return {"name": NAME, "version": VERSION, "input_size": INPUT_SIZE, "feature_dim": FEATURE_DIM,
            "num_classes": NUM_CLASSES, "train_resolutions": list(TRAIN_RESOLUTIONS),
            "holdout_fraction": HOLDOUT_FRACTION, "split_seed": SPLIT_SEED, "train_seed": TRAIN_SEED,
            "epochs": EPOCHS, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE, "torch": torch.__version__}


def _recipe_text() -> str:
    return json.dumps(recipe(), sort_keys=True)


def cached_weights_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """``digits-classifier-KEY.pt``, KEY the start of the SHA-256 of the recipe."""
    key = hashlib.sha256(_recipe_text().encode()).hexdigest()[:16]
    return Path(cache_dir or default_cache_dir()) / f"{NAME}-{key}.pt"


def weights_sha256(state: dict) -> str:
    """SHA-256 of a state dict's names, dtypes, shapes and little-endian values, in key order: the same
    on every CPU and for every way the file was written."""
    digest = hashlib.sha256()
    for key in sorted(state):
        array = state[key].detach().cpu().contiguous().numpy()
        little = array.dtype.newbyteorder("<")
        digest.update(f"{key}:{little.str}:{tuple(array.shape)}\n".encode())
        digest.update(array.astype(little, copy=False).tobytes())
    return digest.hexdigest()


def _cache_record(state: dict) -> bytes:
    """The cache file's bytes: the state dict with its recipe and SHA-256 (what :func:`_net_from` checks)."""
    buffer = io.BytesIO()
    torch.save({"recipe": _recipe_text(), "weights_sha256": weights_sha256(state), "state_dict": state}, buffer)
    return buffer.getvalue()


class _Unusable(Exception):
    """Why a weights file is not used: the rest of a sentence that starts with its path."""


def _net_from(data: bytes, *, cached: bool) -> DigitsNet:
    """The classifier whose weights are ``data`` (a cache record, or, given by path, also a bare state
    dict); :class:`_Unusable` when they cannot be or must not be used."""
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own message speaks of weights_only=False: not for a cache
        raise _Unusable("is not a torch file, or holds objects other than weights") from None
    except Exception as e:  # empty, cut short, not a zip archive
        why = str(e).split(". ")[0].splitlines()[0][:100] if str(e) else ""
        raise _Unusable(f"is not a readable weights file ({type(e).__name__}{': ' + why if why else ''})") from None
    is_record = isinstance(obj, dict) and obj.keys() == {"recipe", "weights_sha256", "state_dict"}
    if cached and not is_record:
        raise _Unusable(f"is not a {NAME} cache record (found: {type(obj).__name__})")
    if is_record and cached and obj["recipe"] != _recipe_text():
        raise _Unusable("was trained by another recipe")
    state = obj["state_dict"] if is_record else obj
    expected = DigitsNet().state_dict()
    if not isinstance(state, dict) or state.keys() != expected.keys() or any(
            not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape or state[k].dtype != v.dtype
            for k, v in expected.items()):
        raise _Unusable(f"does not hold the {NAME}'s weights (other names, shapes or types)")
    if is_record and weights_sha256(state) != obj["weights_sha256"]:
        raise _Unusable("holds weights that do not match their SHA-256 (changed after they were written)")
    net = DigitsNet()
    net.load_state_dict(state)
    return net.eval()


def _from_cache(path: Path) -> tuple[DigitsNet, str]:
    """The cached classifier, else trained (one warning naming a bad file it replaces, or the file it
    could not write) and cached; the SHA-256 of its cache file."""
    problem = None
    try:
        data = path.read_bytes()
        return _net_from(data, cached=True), hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        log.info("training the %s detector (a few seconds); caching it in %s", NAME, path)
    except OSError as e:  # a directory, or unreadable
        problem = f"{NAME} cache {path} cannot be read ({describe_os_error(e)})"
    except _Unusable as e:
        problem = f"{NAME} cache {path} {e}"
    net = train_digits_classifier()
    data = _cache_record(net.state_dict())
    try:
        atomic_write(path, lambda f: f.write(data))
        if problem:
            warnings.warn(f"{problem}: retrained and replaced it")
    except SnganError as e:  # a read-only cache folder, or a directory in the way
        warnings.warn(f"{problem + ': retrained' if problem else f'trained the {NAME}'} in memory only, {e}")
    return net, hashlib.sha256(data).hexdigest()


def load_digits_classifier(
    weights_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> tuple[DigitsNet, str]:
    """The classifier from `weights_path` (a SnganError naming it when it is not usable), else from
    the cache, else trained and cached; and the SHA-256 of its weights file (of the file a fresh
    cache holds, when the cache cannot be written)."""
    if not weights_path:
        return _from_cache(cached_weights_path(cache_dir))
    try:
        data = Path(weights_path).read_bytes()
        return _net_from(data, cached=False), hashlib.sha256(data).hexdigest()
    except OSError as e:
        raise SnganError(f"{NAME} weights {weights_path}: {describe_os_error(e)}") from None
    except _Unusable as e:
        raise SnganError(f"{NAME} weights {weights_path} {e}") from None


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
