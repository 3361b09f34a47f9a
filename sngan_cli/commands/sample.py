"""``sngan sample``: images from a trained generator, as numbered PNG files, one npz array, a grid,
or a grid of latent interpolations.

The latent draw is defined once, in ``sngan_cli.trained.latents``: all N vectors (and labels) come from a single
``TrainedGenerator.latent(N, torch.Generator().manual_seed(seed), label)`` call, drawn on the CPU
before any batching, so the images depend on (checkpoint, seed, N, label) only, never on batch_size
or the device. ``generate`` is the image source for anything that must see the same images as
``sngan sample`` (``sngan eval`` included). Holding all N latents costs N * z_dim * 4 bytes (26 MB
for 50,000 images at z_dim=128), far less than the images themselves.
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import torch

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write, refuse_file_in_the_way
from sngan_cli.commands.options import Option, boolean, choice, help_requested, integer, parse_options, text, usage
from sngan_cli.trained import GENERATORS, Batch, TrainedGenerator, checkpoint_path, generate, load_generator, render
from sngan_cli.device import COMMAND_DEVICES, resolve_device
from sngan_cli.images import save_png, square_grid

SUMMARY = ("Write n generated images to out/ as 000000.png, 000001.png, ... (or out/samples.npz with format=npz),\n"
           "one grid (out/grid.png), or a grid of slerp interpolations (out/interpolation.png).")
OPTIONS = {
    "ckpt": Option(text, help="checkpoint file"),
    "run": Option(text, help="run directory: uses DIR/checkpoints/last.pt"),
    "n": Option(integer(1), help="number of images (not with interpolate=true)"),
    "out": Option(text, help="output directory (new or empty unless overwrite=true)", required=True),
    "format": Option(choice("png", "npz"), "png", "png: one file per image; npz: key images, uint8 (N, H, W, C)"),
    "seed": Option(integer(0), 0, "seed of the latent draw"),
    "label": Option(integer(0), help="class of every image, conditional models only (default: uniform)"),
    "grid": Option(boolean, False, "write one grid of the n images"),
    "interpolate": Option(boolean, False, "write a grid of interpolations: rows = pairs, columns = steps"),
    "rows": Option(integer(1), help="interpolate=true: number of pairs (default 8)"),
    "steps": Option(integer(2), help="interpolate=true: images per pair, ends included (default 10)"),
    "batch_size": Option(integer(1), 256, "images per forward pass (does not change the images)"),
    "device": Option(choice(*COMMAND_DEVICES), "auto", "where G runs"),
    "g": Option(choice(*GENERATORS), "G", "G, or ema: G's moving average (a run trained with train.ema=true)"),
    "overwrite": Option(boolean, False, "write into a non-empty out, replacing earlier sample files"),
}
INTERPOLATION_ROWS, INTERPOLATION_STEPS = 8, 10
PROGRESS_MIN = 1000  # below this many images a progress bar is noise
NPZ, GRID, INTERPOLATION = "samples.npz", "grid.png", "interpolation.png"
_OUTPUT_FILE = re.compile(rf"^([0-9]{{6,}}\.png|{re.escape(NPZ)}|{re.escape(GRID)}|{re.escape(INTERPOLATION)})$")

def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """(R, D) x (R, D) -> (R * steps, D): row r walks the great circle from z0[r] to z1[r], ends included."""
    t = torch.linspace(0, 1, steps, device=z0.device, dtype=z0.dtype)[None, :, None]
    omega = torch.acos(torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1, 1))[:, None, None]
    sin = torch.sin(omega)
    # (anti)parallel pairs have no unique great circle: fall back to the straight line there
    parallel = sin.abs() < 1e-6
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    w0 = torch.where(parallel, 1 - t, torch.sin((1 - t) * omega) / safe)
    w1 = torch.where(parallel, t, torch.sin(t * omega) / safe)
    return (w0 * z0[:, None] + w1 * z1[:, None]).reshape(-1, z0.shape[1])


def interpolation_latents(tg: TrainedGenerator, rows: int, steps: int, seed: int,
                          label: Optional[int] = None) -> Batch:
    """Row-major (rows * steps) latents; a conditional row keeps the label of its start point."""
    rng = torch.Generator().manual_seed(seed)
    z0, y = tg.latent(rows, rng, label)
    z1, _ = tg.latent(rows, rng, label)
    return slerp(z0, z1, steps), (None if y is None else y.repeat_interleave(steps))


def check_label(tg: TrainedGenerator, label: Optional[int]) -> None:
    if label is None:
        return
    if not tg.num_classes:
        raise SnganError(f"label={label} is not allowed: {tg.path} holds an unconditional generator")
    if label >= tg.num_classes:
        raise SnganError(f"label={label} is not allowed: this generator has {tg.num_classes} classes, "
                         f"label=0..{tg.num_classes - 1}")


def prepare_out(out: str, overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless ``overwrite``; then clear what an earlier sample run wrote,
    so a smaller n leaves no stale images behind for a folder-scoring ``sngan eval``."""
    refuse_file_in_the_way(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise SnganError(f"out={out} is a file; give a directory")
    existing = os.listdir(out) if os.path.isdir(out) else []
    if existing and not overwrite:
        raise SnganError(f"out={out} is not empty ({len(existing)} entries); choose a new or empty directory, "
                         f"or add overwrite=true to replace its sample files")
    for name in existing:
        if _OUTPUT_FILE.match(name):
            os.unlink(os.path.join(out, name))
    os.makedirs(out, exist_ok=True)


def on_host(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The batches moved from G's device to the CPU, one at a time, for writing."""
    for images, y in batches:
        yield images.cpu(), (None if y is None else y.cpu())


def write_pngs(batches: Iterator[Batch], out: str) -> None:
    index = 0
    for images, _ in batches:
        for image in images:
            save_png(image, os.path.join(out, f"{index:06d}.png"))
            index += 1


def write_npz(batches: Iterator[Batch], n: int, path: str) -> None:
    """One uint8 (N, H, W, C) array under ``images`` (and int64 ``labels`` for conditional G)."""
    images_nhwc: Optional[np.ndarray] = None
    labels: List[np.ndarray] = []
    index = 0
    for images, y in batches:
        if images_nhwc is None:  # filled in place: no second copy of all N images
            images_nhwc = np.empty((n, images.shape[2], images.shape[3], images.shape[1]), dtype=np.uint8)
        images_nhwc[index:index + len(images)] = images.permute(0, 2, 3, 1).numpy()
        index += len(images)
        if y is not None:
            labels.append(y.numpy())
    arrays = {"images": images_nhwc, **({"labels": np.concatenate(labels).astype(np.int64)} if labels else {})}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def write_grid(batches: Iterator[Batch], path: str, nrow: Optional[int] = None) -> None:
    """One image of all the images, ``nrow`` per row (default: a near-square grid, as training's samples)."""
    from torchvision.utils import make_grid  # torchvision takes seconds to import

    images = torch.cat([images for images, _ in batches])
    save_png(square_grid(images) if nrow is None else make_grid(images, nrow=nrow), path)


def check_combination(o: Dict[str, Any]) -> None:
    """Refuse options that do not apply to the chosen output, before any work starts."""
    if o["grid"] and o["interpolate"]:
        raise SnganError("grid=true and interpolate=true cannot be combined: run sample twice")
    if o["format"] == "npz" and (o["grid"] or o["interpolate"]):
        raise SnganError("format=npz writes the samples themselves: it cannot be combined with grid=true "
                         "or interpolate=true")
    if o["interpolate"]:
        if o["n"] is not None:
            raise SnganError(f"n={o['n']} does not apply to interpolate=true: use rows= and steps=")
    else:
        if o["n"] is None:
            raise SnganError(f"n= is required: {OPTIONS['n'].help}")
        for key in ("rows", "steps"):
            if o[key] is not None:
                raise SnganError(f"{key}={o[key]} applies only to interpolate=true")


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("sample", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    check_combination(o)
    tg = load_generator(checkpoint_path(o["ckpt"], o["run"]), resolve_device(o["device"]), o["g"])
    check_label(tg, o["label"])
    out, seed, label, batch_size = o["out"], o["seed"], o["label"], o["batch_size"]
    prepare_out(out, o["overwrite"])

    if o["interpolate"]:
        rows = o["rows"] or INTERPOLATION_ROWS
        steps = o["steps"] or INTERPOLATION_STEPS
        z, y = interpolation_latents(tg, rows, steps, seed, label)
        write_grid(on_host(render(tg, z, y, batch_size)), os.path.join(out, INTERPOLATION), nrow=steps)
        print(f"wrote {os.path.join(out, INTERPOLATION)}: {rows} interpolations x {steps} steps (seed {seed})")
        return
    n = o["n"]
    batches = on_host(generate(tg, n, seed, batch_size, label, progress=n >= PROGRESS_MIN))
    if o["grid"]:
        write_grid(batches, os.path.join(out, GRID))
        print(f"wrote {os.path.join(out, GRID)}: {n} images (seed {seed})")
    elif o["format"] == "npz":
        write_npz(batches, n, os.path.join(out, NPZ))
        print(f"wrote {os.path.join(out, NPZ)}: {n} images (seed {seed})")
    else:
        write_pngs(batches, out)
        print(f"wrote {n} images to {os.path.join(out, '000000.png')} ... (seed {seed})")
