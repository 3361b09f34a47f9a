"""Image folders: ``dataset=folder`` (any directory of images, held in memory at the resolution) and
``dataset=imagenet`` (ILSVRC2012 as ``<root>/train/<class>/*``, read lazily, with labels).

Images become 8-bit RGB by :func:`to_rgb` (the same for training and for ``sngan eval images=``):
16-bit grayscale is scaled to 8 bits (v * 255 / 65535, rounded), and images with transparency (RGBA,
LA, palette with a transparent colour) are composited on white. They are then resized so the
shorter side is the resolution and center-cropped. Unreadable files are skipped and counted in one
warning.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from sngan_cli import SnganError
from sngan_cli.data import DatasetConfig, ImageSet, check_has_value, register

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
BACKGROUND = (255, 255, 255)  # what transparent pixels show: white
WIDE_GRAY = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # Pillow's modes of 16-bit grayscale files
UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def list_images(root: str, recursive: bool = True, option: str = "dataset.root") -> List[str]:
    """The image files under ``root``, sorted; ``option`` is how the user gave it (for the error)."""
    check_has_value(root, option)
    if not os.path.isdir(root):
        raise SnganError(f"{option}={root} is not a directory of images")
    if recursive:
        paths = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
    else:
        paths = [os.path.join(root, f) for f in os.listdir(root)]
    return sorted(p for p in paths if p.lower().endswith(EXTENSIONS))


def folder_fingerprint(root: str, recursive: bool = True) -> str:
    """SHA-256 of the relative path, size and modification time (ns) of every image file under
    ``root``: it changes when an image is added, removed, renamed or rewritten, so statistics cached
    for a folder are recomputed when its contents change (not only its image count)."""
    import hashlib

    digest = hashlib.sha256()
    for path in list_images(root, recursive):
        info = os.stat(path)
        digest.update(f"{os.path.relpath(path, root)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit grayscale scaled (not clipped to white), transparency composited on BACKGROUND."""
    if img.mode in WIDE_GRAY:
        wide = np.asarray(img).astype(np.float64)
        img = Image.fromarray(np.clip(np.rint(wide * 255 / 65535), 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUND + (255,)), rgba).convert("RGB")
    return img.convert("RGB")


def decode_rgb(path: str) -> Optional[Image.Image]:
    """The image of ``path`` as 8-bit RGB (:func:`to_rgb`), or None when the file cannot be decoded."""
    try:
        with Image.open(path) as img:
            return to_rgb(img)
    except UNREADABLE:
        return None


def folder_batches(directory: str, option: str = "images", batch_size: int = 250) -> Iterator[torch.Tensor]:
    """uint8 RGB images of a folder at their own size (:func:`to_rgb`, as for training), batched by
    runs of equal size: what ``sngan eval images=DIR`` scores. Unreadable files are skipped and
    counted in one warning; ``option`` is how the user gave the folder."""
    paths = list_images(directory, option=option)
    batch: list = []
    skipped = 0
    for path in paths:
        img = decode_rgb(path)
        if img is None:
            skipped += 1
            continue
        image = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
        if batch and (image.shape != batch[0].shape or len(batch) == batch_size):
            yield torch.stack(batch)
            batch = []
        batch.append(image)
    if batch:
        yield torch.stack(batch)
    if skipped:
        warnings.warn(f"{option}={directory}: skipped {skipped} of {len(paths)} files that could not be read")


def read_image(path: str, resolution: int) -> Optional[torch.Tensor]:
    """uint8 (3, R, R), or None when the file cannot be decoded."""
    img = decode_rgb(path)
    if img is None:
        return None
    w, h = img.size
    scale = resolution / min(w, h)
    img = img.resize((max(resolution, round(w * scale)), max(resolution, round(h * scale))), Image.BICUBIC)
    w, h = img.size
    left, top = (w - resolution) // 2, (h - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


@dataclass
class FolderConfig(DatasetConfig):
    download: bool = False  # (dataset.root, the directory, has no default: it is required)
    recursive: bool = True  # also look in sub-directories


@register("folder", FolderConfig())
def load_folder(root: str, resolution: int, download: bool = False, recursive: bool = True, **_) -> ImageSet:
    paths = list_images(root, recursive)
    images = [img for img in (read_image(p, resolution) for p in paths) if img is not None]
    skipped = len(paths) - len(images)
    if skipped:
        warnings.warn(f"dataset=folder: skipped {skipped} of {len(paths)} files under {root} that could not be read")
    if not images:
        raise SnganError(f"dataset=folder: no readable images under {root} (looked for {', '.join(EXTENSIONS)})")
    return ImageSet("folder", resolution, 0, torch.stack(images), None)


class LabelledImageFiles(torch.utils.data.Dataset):
    def __init__(self, samples: List[Tuple[str, int]], resolution: int) -> None:
        self.samples, self.resolution = samples, resolution

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        img = read_image(path, self.resolution)
        if img is None:
            raise SnganError(f"dataset=imagenet: cannot read {path}")
        return img, label


# ILSVRC2012, which cannot be downloaded automatically
@register("imagenet", DatasetConfig(root="data/imagenet", resolution=128, download=False))
def load_imagenet(root: str, resolution: int, download: bool = False, **_) -> ImageSet:
    train = os.path.join(root, "train")
    if not os.path.isdir(train):
        raise SnganError(f"dataset=imagenet: {os.path.abspath(train)} not found; ImageNet cannot be downloaded "
                         f"automatically: extract ILSVRC2012 train as <root>/train/<wnid>/*.JPEG and set dataset.root")
    classes = sorted(d for d in os.listdir(train) if os.path.isdir(os.path.join(train, d)))
    samples = [(p, i) for i, c in enumerate(classes) for p in list_images(os.path.join(train, c))]
    if not samples:
        raise SnganError(f"dataset=imagenet: no images under {os.path.abspath(train)}")
    return ImageSet("imagenet", resolution, len(classes), lazy=LabelledImageFiles(samples, resolution))
