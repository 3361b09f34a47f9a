"""Time per generator update: sngan's training step against the plain-PyTorch reference loop
(benchmarks/reference_loop.py), same networks, same batch, measured in the same process.

    .venv/bin/python benchmarks/train_speed.py                       # every normalizer, cnn+resnet, 32+48 px
    .venv/bin/python benchmarks/train_speed.py --norms spectral none --archs cnn --resolutions 32 --width 0.25

Both loops run on the embedded digits (upscaled to the resolution), setting C's Adam, n_dis as given,
the standard loss. For each architecture and resolution every loop (the runner with each normalizer,
the reference with each of its normalizers) takes its turn in every round, so a change of the
machine's load hits them all alike. Times are the median over rounds of the mean seconds per
generator update; `ratio` = runner / reference and `vs none` = this normalizer / norm=none (both the
runner's) are the medians of the ratios within each round (< 1: faster).

With --memory, each loop is then built and run again on its own in a fresh process, for its peak
memory: on a GPU the peak of allocated CUDA memory (networks, optimizer state, the step's
activations); on the CPU the growth of the peak resident set over the process after its imports
(which include the digits' source, so the figure is the loop's: networks, optimizer, data on the
device, the step's work).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.memory import peak_resident_mib, resident_mib  # noqa: E402
from benchmarks.reference_loop import REFERENCE_NORMS, ReferenceGAN  # noqa: E402

ALL_NORMS = ("none", "spectral", "weight", "clip", "gp", "batch", "layer", "orthonormal", "frobenius", "spectral_gamma")


def runner_step(arch, resolution, norm, width, batch, n_dis, device, extra=(), d_calls_as_on_gpu=False):
    from sngan_cli.config import compose
    from sngan_cli.data import load_dataset
    from sngan_cli.data.batches import BatchStream
    from sngan_cli.training import speed
    from sngan_cli.training.chores import LossSums
    from sngan_cli.training.loop import GAN

    cfg = compose(["dataset=digits", f"dataset.resolution={resolution}", f"arch={arch}", f"norm={norm}",
                   "loss=standard", "setting=C", f"setting.n_dis={n_dis}", f"arch.width={width}",
                   f"train.batch_size={batch}", *extra])
    data = load_dataset("digits", "data", resolution)
    gan = GAN(cfg, data.num_classes, device)
    # d_calls_as_on_gpu: count on the CPU what a GPU run does (real and fake in one D call)
    speed.accelerate(gan, cfg.train, d_once=speed.one_d_call(gan.D, torch.device("cuda")) if d_calls_as_on_gpu else None)
    batches = BatchStream(data, batch, 0, device)
    sums = LossSums()

    def step():  # the body of training/loop.py's _loop, without its periodic work
        for _ in range(n_dis):
            sums.add(gan.d_step(*batches.next()))
        sums.add(gan.g_step())
    return step


def reference_step(arch, resolution, norm, width, batch, n_dis, device, adam_foreach=None):
    from sngan_cli.data.digits import digits_images

    images, _ = digits_images(resolution)
    ref = ReferenceGAN(images, arch, resolution, norm, width, batch, n_dis, device, adam_foreach=adam_foreach)
    return ref.step


def seconds_per_step(step, n, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


def measure(steps, n, rounds, warmup, device):
    """Per round, the mean time per step of each named step function; the functions take turns."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(seconds_per_step(step, n, device))
    return times


def peak_memory_here(kind, arch, res, norm, a, device) -> float:
    """MiB: the peak memory of one loop built and run (warm-up + 2 steps) in this process."""
    import hydra  # noqa: F401  (the runner's imports and the dataset's source, before the baseline)
    from sklearn.datasets import load_digits

    import sngan_cli.training.loop  # noqa: F401
    load_digits()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    baseline = resident_mib()
    step = (runner_step(arch, res, norm, a.width, a.batch, a.n_dis, device, a.runner_options) if kind == "runner"
            else reference_step(arch, res, norm, a.width, a.batch, a.n_dis, device))
    for _ in range(a.warmup + 2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) / 2**20
    return peak_resident_mib() - baseline


def peak_memory(kind, arch, res, norm, argv) -> float:
    """``peak_memory_here`` in a fresh process (peaks of one process cannot be told apart per loop)."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--memory-of", kind, arch, str(res), norm],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def paired_ratio(a, b) -> float:
    """Median over rounds of a[i] / b[i]: both measured in the same round."""
    return statistics.median(x / y for x, y in zip(a, b))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--norms", nargs="+", default=list(ALL_NORMS))
    p.add_argument("--archs", nargs="+", default=["cnn", "resnet"])
    p.add_argument("--resolutions", nargs="+", type=int, default=[32, 48])
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier of both nets (1.0 = the paper)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-dis", type=int, default=1)
    p.add_argument("--steps", type=int, default=5, help="generator updates per timed round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--runner-options", nargs="*", default=[], help="extra overrides, e.g. train.compile=true")
    p.add_argument("--memory", action="store_true", help="also the peak memory of each loop (MiB)")
    p.add_argument("--memory-of", nargs=4, metavar=("KIND", "ARCH", "PX", "NORM"), help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    a = p.parse_args()
    device = torch.device(a.device)
    torch.manual_seed(0)
    if a.memory_of:  # (internal) one loop's peak memory, in this fresh process
        kind, arch, res, norm = a.memory_of
        print(f"{peak_memory_here(kind, arch, int(res), norm, a, device):.1f}")
        return
    print(f"# device={device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"load={os.getloadavg()[0]:.2f} width={a.width} batch={a.batch} n_dis={a.n_dis} "
          f"steps={a.steps}x{a.rounds} rounds (+{a.warmup} warm-up) runner options={a.runner_options}")
    memory = "  runner MiB  ref MiB" if a.memory else ""
    print(f"{'arch':<7}{'px':>4} {'norm':<15}{'runner ms':>10}{'ref ms':>10}{'ratio':>8}{'vs none':>9}{memory}")
    norms = (["none"] if "none" not in a.norms else []) + list(a.norms)
    nan = float("nan")
    for arch in a.archs:
        for res in a.resolutions:
            steps = {}
            for norm in norms:
                steps[("runner", norm)] = runner_step(arch, res, norm, a.width, a.batch, a.n_dis, device,
                                                      a.runner_options)
                if norm in REFERENCE_NORMS:
                    steps[("reference", norm)] = reference_step(arch, res, norm, a.width, a.batch, a.n_dis, device)
            t = measure(steps, a.steps, a.rounds, a.warmup, device)
            for norm in norms:
                runner, ref = t[("runner", norm)], t.get(("reference", norm))
                mem = ""
                if a.memory:
                    mem = (f"{peak_memory('runner', arch, res, norm, argv):>12.0f}"
                           f"{peak_memory('reference', arch, res, norm, argv) if ref else nan:>9.0f}")
                print(f"{arch:<7}{res:>4} {norm:<15}{statistics.median(runner) * 1e3:>10.1f}"
                      f"{statistics.median(ref) * 1e3 if ref else nan:>10.1f}"
                      f"{paired_ratio(runner, ref) if ref else nan:>8.3f}"
                      f"{paired_ratio(runner, t[('runner', 'none')]):>9.3f}{mem}", flush=True)


if __name__ == "__main__":
    main()
