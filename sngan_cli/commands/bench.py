"""``sngan bench``: wall time of 100 generator updates (each with its n_dis D updates) for each
normalizer on this device (Figure 10, Appendix C.2), using the training loop's own GAN class.

The config is composed from the package's Hydra groups as ``sngan train`` would; random images in
[-1, 1] stand in for the data, so no dataset has to be on disk and data loading is not timed. CUDA is
synchronised before the clock starts and after it stops. Writes bench.json, bench.csv and bench.png
(Figure 10's bars) into out=.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
import time
from typing import Any, Dict, List

import torch

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write, refuse_file_in_the_way
from sngan_cli.commands.options import Option, boolean, choice, help_requested, integer, parse_options, text, usage
from sngan_cli.device import COMMAND_DEVICES
from sngan_cli.losses import LOSSES
from sngan_cli.models import ARCHITECTURES

SUMMARY = ("Time per 100 generator updates (with n_dis D updates each) for each normalizer on this device:\n"
           "prints a table, writes bench.json, bench.csv and bench.png (Figure 10) into out=.")


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a finite number > 0") from None
    if not (number > 0 and math.isfinite(number)):
        raise ValueError("must be a finite number > 0")
    return number


OPTIONS = {
    "dataset": Option(text, "digits", "dataset config (its resolution and labels; no images are read)"),
    "arch": Option(choice(*ARCHITECTURES), "cnn", "architecture"),
    "resolution": Option(integer(8), 32, "image size"),
    "width": Option(positive_float, 1.0, "channel multiplier of both networks (1 = the paper)"),
    "norms": Option(text, "all", "comma list of normalizers, or all"),
    "loss": Option(choice(*LOSSES), "standard", "loss"),
    "setting": Option(choice("A", "B", "C", "D", "E", "F", "resnet"), "A", "optimizer setting (A: n_dis = 5, as Figure 10)"),
    "steps": Option(integer(1), 20, "timed generator updates (reported scaled to 100)"),
    "warmup": Option(integer(0), 3, "untimed generator updates first"),
    "batch_size": Option(integer(1), 64, "images per D update"),
    "seed": Option(integer(0), 0, "seed of weights and inputs"),
    "device": Option(choice(*COMMAND_DEVICES), "auto", "where to run"),
    "out": Option(text, "bench", "output directory"),
    "overwrite": Option(boolean, False, "replace the bench.* files of an earlier run in out"),
}
OUTPUTS = ("bench.json", "bench.csv", "bench.png")


def compose_config(overrides: List[str]):
    """The training config for ``overrides``, composed and validated as ``sngan train`` does."""
    from sngan_cli.config import compose, validate

    cfg = compose(overrides)
    validate(cfg)
    return cfg


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_updates(cfg, device: torch.device, steps: int, warmup: int, seed: int) -> List[float]:
    """Seconds of each of ``steps`` generator updates (n_dis D updates + one G update) after ``warmup``."""
    from sngan_cli.training import speed
    from sngan_cli.training.loop import GAN, seed_everything

    seed_everything(seed)
    gan = GAN(cfg, 0, device)
    speed.accelerate(gan, cfg.train)  # as training runs it
    real = torch.rand(cfg.train.batch_size, 3, cfg.dataset.resolution, cfg.dataset.resolution, device=device) * 2 - 1
    times = []
    for i in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        for _ in range(cfg.setting.n_dis):
            gan.d_step(real, None)
        gan.g_step()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def norm_list(text_value: str) -> List[str]:
    from sngan_cli.norms import available

    names = available() if text_value == "all" else [n for n in text_value.split(",") if n]
    unknown = [n for n in names if n not in available()]
    if unknown or not names:
        raise SnganError(f"norms={text_value} is not allowed: choose from {', '.join(available())} (comma list) or all")
    return names


def _write_outputs(out: str, record: Dict[str, Any]) -> None:
    from sngan_cli.reporting.figure10 import plot_times

    os.makedirs(out, exist_ok=True)
    atomic_write(os.path.join(out, "bench.json"), lambda f: f.write(json.dumps(record, indent=1).encode()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["norm", "seconds_per_100_updates", "std", "steps", "n_dis", "device"])
    for r in record["results"]:
        writer.writerow([r["norm"], f"{r['seconds_per_100']:.4f}", f"{r['std_per_100']:.4f}", r["steps"],
                         record["n_dis"], record["device"]])
    atomic_write(os.path.join(out, "bench.csv"), lambda f: f.write(buffer.getvalue().encode()))
    bars = [(r["norm"], r["seconds_per_100"], r["std_per_100"]) for r in record["results"]]
    plot_times(os.path.join(out, "bench.png"),
               f"Figure 10: time per 100 generator updates, n_dis = {record['n_dis']}",
               [(f"{record['arch']} {record['resolution']} px, batch {record['batch_size']}, {record['device']}", bars)])


def check_out(out: str, overwrite: bool) -> None:
    """Refuse an ``out`` that is a file, or that holds an earlier run's results unless ``overwrite``."""
    refuse_file_in_the_way(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise SnganError(f"out={out} is a file; give a directory")
    earlier = [name for name in OUTPUTS if os.path.lexists(os.path.join(out, name))]
    if earlier and not overwrite:
        raise SnganError(f"out={out} holds an earlier run's {', '.join(earlier)}; "
                         f"choose another out or add overwrite=true to replace them")


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("bench", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    from sngan_cli.device import resolve_device

    device = resolve_device(o["device"])
    names = norm_list(o["norms"])
    check_out(o["out"], o["overwrite"])  # refused before the timing, not after
    results = []
    cfg = None
    for norm in names:
        cfg = compose_config([f"dataset={o['dataset']}", f"arch={o['arch']}", f"dataset.resolution={o['resolution']}",
                              f"arch.width={o['width']}", f"norm={norm}", f"loss={o['loss']}", f"setting={o['setting']}",
                              f"train.batch_size={o['batch_size']}", f"seed={o['seed']}"])
        times = time_updates(cfg, device, o["steps"], o["warmup"], o["seed"])
        per_100 = [100 * t for t in times]
        results.append({"norm": norm, "seconds_per_100": statistics.fmean(per_100),
                        "std_per_100": statistics.stdev(per_100) if len(per_100) > 1 else 0.0, "steps": o["steps"]})
        print(f"{norm:<16} {results[-1]['seconds_per_100']:9.3f} s / 100 G updates "
              f"(± {results[-1]['std_per_100']:.3f}, {o['steps']} timed)", flush=True)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    record = {"device": device_name, "arch": o["arch"], "dataset": o["dataset"], "resolution": o["resolution"],
              "width": o["width"], "loss": o["loss"], "setting": o["setting"], "n_dis": int(cfg.setting.n_dis),
              "batch_size": o["batch_size"], "g_batch_size": cfg.train.g_batch_size or cfg.arch.g_batch_size,
              "warmup": o["warmup"], "torch": torch.__version__, "results": results}
    _write_outputs(o["out"], record)
    print(f"wrote {', '.join(os.path.join(o['out'], f) for f in OUTPUTS)}")
