"""Generator outputs as images. One quantization everywhere: saved PNGs, ``sngan sample`` and the
images ``sngan eval`` scores are the same uint8 values."""
from __future__ import annotations

import io
import math
from enum import StrEnum

import torch
from PIL import Image

from sngan_cli.atomic import atomic_write


class Quantize(StrEnum):
    """``eval.quantize``: how (clamp(x, -1, 1) + 1) * 127.5 becomes uint8 (to_uint8)."""

    truncate = "truncate"  # the authors' astype(uint8)
    round = "round"


def to_uint8(x: torch.Tensor, mode: str = "truncate") -> torch.Tensor:
    """[-1, 1] float (N, C, H, W) -> uint8 [0, 255] from (clamp(x, -1, 1) + 1) * 127.5, truncated
    (``truncate``: the authors' ``astype(uint8)``, the default, ``eval.quantize``) or rounded."""
    scaled = (x.detach().float().clamp(-1, 1) + 1) * 127.5
    if mode == "round":
        scaled = scaled.round()
    elif mode != "truncate":
        raise ValueError(f"eval.quantize={mode}: choose one of {', '.join(Quantize)}")
    return scaled.to(torch.uint8)


def square_grid(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') image on the CPU: the images in rows of ceil(√N),
    by torchvision's ``make_grid`` (2 px of black padding around and between them)."""
    from torchvision.utils import make_grid  # torchvision takes seconds to import: only when a grid is made

    return make_grid(images_uint8.cpu(), nrow=math.ceil(math.sqrt(len(images_uint8))))


def save_png(image_uint8_chw: torch.Tensor, path: str) -> None:
    array = image_uint8_chw.permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(buffer, format="PNG")
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
