"""Generator outputs as images. One quantization everywhere: saved PNGs, ``sngan sample`` and the
images ``sngan eval`` scores are the same uint8 values."""
from __future__ import annotations

import io
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


def grid(images_uint8: torch.Tensor, nrow: int, padding: int = 2) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') grid, ``nrow`` images per row, black padding."""
    n, c, h, w = images_uint8.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = torch.zeros(c, rows * (h + padding) + padding, cols * (w + padding) + padding, dtype=torch.uint8)
    for i, image in enumerate(images_uint8.cpu()):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        out[:, top:top + h, left:left + w] = image
    return out


def save_png(image_uint8_chw: torch.Tensor, path: str) -> None:
    array = image_uint8_chw.permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(buffer, format="PNG")
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
