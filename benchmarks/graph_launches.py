"""Launches per generator update with ``train.compile``: what CUDA graphs would leave of a step.

    .venv/bin/python benchmarks/graph_launches.py
    .venv/bin/python benchmarks/graph_launches.py --norms none spectral --archs cnn

Under ``train.cuda_graphs`` every compiled forward and backward is replayed as one graph launch,
and what runs outside the compiled functions is launched as before, one operation at a time. So
on a launch-bound GPU the time per update follows "operations outside compiled regions + compiled
regions entered". This script counts both for one update (n_dis D updates and one G update) with
``train.compile=true`` on the CPU, where the compiled regions are the same, with the PyTorch
profiler: top-level ATen operations outside any compiled region, and the compiled regions run
(forward regions and compiled backward nodes). The count does not depend on the machine; the
eager column counts the same way without compile, for comparison. Compiling takes a while on the
CPU (tens of seconds per configuration).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.op_count import add_count_options  # noqa: E402
from benchmarks.train_speed import ALL_NORMS, runner_step  # noqa: E402

COMPILED_REGION_MARKS = ("Torch-Compiled Region", "CompiledFunctionBackward")


def _compiled_region(name: str) -> bool:
    return any(mark in name for mark in COMPILED_REGION_MARKS)


def launches(step, warmup: int = 3) -> Counter:
    """'eager ops' and 'compiled regions' of one call of ``step`` (after ``warmup`` calls, which
    compile)."""
    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    counts: Counter = Counter()
    for event in prof.events():
        parent, inside = event.cpu_parent, False
        while parent is not None and not inside:
            inside, parent = _compiled_region(parent.name), parent.cpu_parent
        if inside:
            continue
        if _compiled_region(event.name):
            counts["compiled regions"] += 1
        elif event.name.startswith("aten::") and not (event.cpu_parent and event.cpu_parent.name.startswith("aten::")):
            counts["eager ops"] += 1
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_count_options(p, [n for n in ALL_NORMS if n != "spectral_gamma"])
    a = p.parse_args()
    logging.getLogger("torch").setLevel(logging.ERROR)
    device = torch.device("cpu")
    torch.manual_seed(0)
    print(f"# torch={torch.__version__} resolution={a.resolution} n_dis={a.n_dis}")
    print(f"{'arch':<7} {'norm':<14}{'eager ops':>10}{'compiled: ops':>15}{'regions':>9}{'launches':>10}{'vs none':>9}")
    for arch in a.archs:
        base = None
        for norm in (["none"] if "none" not in a.norms else []) + list(a.norms):
            def step(option):
                return runner_step(arch, a.resolution, norm, a.width, a.batch, a.n_dis, device, [option],
                                   d_calls_as_on_gpu=True)
            eager = launches(step("train.compile=false"), warmup=2)
            torch._dynamo.reset()
            compiled = launches(step("train.compile=true"))
            total = compiled["eager ops"] + compiled["compiled regions"]
            base = total if norm == "none" else base
            print(f"{arch:<7} {norm:<14}{eager['eager ops']:>10}{compiled['eager ops']:>15}"
                  f"{compiled['compiled regions']:>9}{total:>10}{total / base:>9.3f}", flush=True)


if __name__ == "__main__":
    main()
