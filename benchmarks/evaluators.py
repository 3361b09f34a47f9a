"""Throughput (images/s) and peak memory of the evaluation detectors.

    .venv/bin/python benchmarks/evaluators.py                    # both detectors, each in its own process
    .venv/bin/python benchmarks/evaluators.py --n 2000 --batch 250 --device cuda

`digits-classifier` is the real one (trained and cached on first use: its training is not timed);
`inception` is the TF-Inception network with *random* weights saved to a temporary file, which is
what the speed depends on (the real weights file needs a download). Inputs are random uint8 images at
the resolution each detector is used with (digits 32 px; Inception: 32 px CIFAR-sized inputs,
resized to 299 inside the detector, as in evaluation). Peak memory: the process's maximum resident
set size (VmHWM; includes the interpreter and torch, ~0.3-0.5 GB) on the CPU, and
torch.cuda.max_memory_allocated on a GPU.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.memory import peak_resident_mib  # noqa: E402


def build(name: str, device: torch.device, tmp: str):
    from sngan_cli.metrics import build_detector

    if name == "inception":
        from sngan_cli.metrics.tf_inception import TFInception

        path = os.path.join(tmp, "random-inception.pth")
        torch.save(TFInception().state_dict(), path)
        return build_detector("inception", path, device=device)
    return build_detector(name, None, device=device)


def run_one(name: str, n: int, batch: int, device: torch.device, resolution: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        detector = build(name, device, tmp)
        images = torch.randint(0, 256, (n, 3, resolution, resolution), dtype=torch.uint8)
        detector.features_and_logits(images[:batch], batch)  # warm-up (allocations, cuDNN)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        features, _ = detector.features_and_logits(images, batch)
        seconds = time.perf_counter() - t0  # features come back to the CPU: synchronized
    peak = (f"cuda peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB" if device.type == "cuda"
            else f"max RSS {peak_resident_mib():.0f} MiB")
    print(f"{name:<18} {resolution:>3} px  n={n:<6} batch={batch:<5} {n / seconds:>9.1f} images/s  {peak}"
          f"  (features {tuple(features.shape)})", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detectors", nargs="+", default=["digits-classifier", "inception"])
    p.add_argument("--n", type=int, default=None, help="images (default: 2000 digits, 100 inception on CPU)")
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--in-process", action="store_true", help="(internal) measure one detector here")
    a = p.parse_args()
    if a.in_process:
        n = a.n or (2000 if a.detectors[0] == "digits-classifier" or a.device == "cuda" else 100)
        run_one(a.detectors[0], n, a.batch, torch.device(a.device), a.resolution)
        return
    print(f"# device={a.device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"load={os.getloadavg()[0]:.2f}")
    for name in a.detectors:  # one process each: a clean peak-memory figure
        args = [sys.executable, __file__, "--in-process", "--detectors", name, "--batch", str(a.batch),
                "--resolution", str(a.resolution), "--device", a.device] + (["--n", str(a.n)] if a.n else [])
        subprocess.run(args, check=True)


if __name__ == "__main__":
    main()
