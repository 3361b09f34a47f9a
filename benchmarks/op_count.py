"""Tensor operations per generator update: sngan's training step beside the reference loop.

    .venv/bin/python benchmarks/op_count.py
    .venv/bin/python benchmarks/op_count.py --norms none spectral --archs cnn --n-dis 5

At the paper's batch of 64 these networks are launch-bound on a GPU: each tensor operation is at
least one kernel launch (a few microseconds of host work), and that, not the arithmetic, sets the
time per update. This script counts the ATen operations that reach the device backends in one
generator update with its n_dis D updates (forward, backward, optimizer, normalizer: everything
the step does), with a TorchDispatchMode on the CPU. The count does not depend on the machine's
load or speed, so it shows on any CPU what a change does to the GPU's launch-bound time. Views
and metadata-only operations are counted too (they cost host time, not kernels), so the count is
an upper bound on kernels. Both loops are counted as they run on a GPU: the reference's Adam in its
CUDA default (foreach: a few multi-tensor operations per step, not its per-parameter CPU path), and
the runner's D seeing real and fake batches in one call, which it does on a GPU only.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.reference_loop import REFERENCE_NORMS  # noqa: E402
from benchmarks.train_speed import ALL_NORMS, reference_step, runner_step  # noqa: E402


class CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def ops_per_update(step, warmup: int = 2) -> Counter:
    for _ in range(warmup):  # lazy state (optimizer moments, the first epoch's permutation) exists
        step()
    with CountOps() as counter:
        step()
    return counter.ops


def add_count_options(p: argparse.ArgumentParser, norms) -> None:
    """The options of a count per update (this script's, graph_launches.py's)."""
    p.add_argument("--norms", nargs="+", default=list(norms))
    p.add_argument("--archs", nargs="+", default=["cnn", "resnet"])
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--width", type=float, default=0.125, help="channel multiplier (the count does not depend on it)")
    p.add_argument("--batch", type=int, default=8, help="batch size (the count does not depend on it)")
    p.add_argument("--n-dis", type=int, default=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_count_options(p, ALL_NORMS)
    p.add_argument("--top", type=int, default=0, help="also list the runner's N most frequent operations")
    p.add_argument("--runner-options", nargs="*", default=[], help="extra overrides, e.g. train.channels_last=true")
    a = p.parse_args()
    device = torch.device("cpu")
    torch.manual_seed(0)
    print(f"# torch={torch.__version__} resolution={a.resolution} n_dis={a.n_dis} runner options={a.runner_options}")
    print(f"{'arch':<7} {'norm':<16}{'runner ops':>11}{'ref ops':>9}{'ratio':>8}{'vs none':>9}")
    for arch in a.archs:
        base = None
        for norm in (["none"] if "none" not in a.norms else []) + list(a.norms):
            runner = ops_per_update(runner_step(arch, a.resolution, norm, a.width, a.batch, a.n_dis, device,
                                                a.runner_options, d_calls_as_on_gpu=True))
            ref = (sum(ops_per_update(reference_step(arch, a.resolution, norm, a.width, a.batch, a.n_dis, device,
                                                    adam_foreach=True))
                       .values()) if norm in REFERENCE_NORMS else None)
            total = sum(runner.values())
            base = total if norm == "none" else base
            print(f"{arch:<7} {norm:<16}{total:>11}{ref if ref else float('nan'):>9}"
                  f"{total / ref if ref else float('nan'):>8.3f}{total / base:>9.3f}", flush=True)
            if a.top:
                print("    " + ", ".join(f"{name} {n}" for name, n in runner.most_common(a.top)))


if __name__ == "__main__":
    main()
