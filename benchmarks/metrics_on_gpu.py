"""KID, precision/recall and density/coverage give the CPU's numbers on a GPU (same subsets: they are
drawn on the CPU; float64 sums and distances). Prints each pair; exits 1 on a difference.

    .venv/bin/python benchmarks/metrics_on_gpu.py     # needs a CUDA device
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from sngan_cli.metrics.kid import kernel_inception_distance
from sngan_cli.metrics.manifold import density_coverage, precision_recall


def features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, (n, d)).astype(np.float32)


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to compare")
        return 1
    real, fake = features(3000, 64, seed=20), features(2500, 64, seed=21, shift=0.05)
    gpu = (torch.from_numpy(real).cuda(), torch.from_numpy(fake).cuda())
    bad = 0
    cpu_kid, gpu_kid = (kernel_inception_distance(*pair, subsets=20, subset_size=200) for pair in ((real, fake), gpu))
    for key in ("mean", "std"):
        same = abs(cpu_kid[key] - gpu_kid[key]) <= 1e-9 * max(abs(cpu_kid[key]), 1e-12)
        bad += not same
        print(f"KID {key}: cpu {cpu_kid[key]:.12g} gpu {gpu_kid[key]:.12g} {'same' if same else 'DIFFERENT'}")
    for metric in (precision_recall, density_coverage):
        cpu, on_gpu = metric(real, fake), metric(*gpu, chunk_size=1000)
        bad += cpu != on_gpu
        print(f"{metric.__name__}: cpu {cpu} gpu {on_gpu} {'same' if cpu == on_gpu else 'DIFFERENT'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
