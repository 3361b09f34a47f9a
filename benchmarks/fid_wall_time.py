"""Wall time of a whole FID + IS evaluation, sngan beside torch-fidelity, same device, same images.

    .venv/bin/python benchmarks/fid_wall_time.py                          # 5000 vs 10000, 50000 vs 50000
    .venv/bin/python benchmarks/fid_wall_time.py --sizes 500:1000 --device cpu

Each size is GENERATED:REAL (the paper protocol is 5000:10000, the standard one 50000:50000). One
evaluation = Inception features of the real images and of the generated ones, their statistics, IS
over 10 splits and the Fréchet distance; no cached statistics on either side. Both tools use the
same TF-Inception weights file, here with random weights (the speed does not depend on the values;
the real file needs a download) whose batch-norm statistics are calibrated on random images so the
features differ between images, and the same random 32 px uint8 images, resized to 299 inside each
detector. Each measurement runs in its own process so its peak memory is its own: VmHWM on the
CPU (includes the interpreter and torch), torch.cuda.max_memory_allocated on a GPU. The printed
FIDs of the two tools should agree (random weights give arbitrary, but equal, values).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.memory import peak_resident_mib  # noqa: E402

TOOLS = ("sngan", "torch-fidelity")


def images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


class _Images(torch.utils.data.Dataset):
    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def __len__(self) -> int:
        return len(self.tensor)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.tensor[i]


def evaluate_sngan(generated, real, weights, batch, device):
    from dataclasses import replace

    from sngan_cli.metrics import build_detector, get_protocol, reference_statistics, score
    from sngan_cli.metrics.stats_cache import ReferenceStats

    detector = build_detector("inception", weights, device=device, batch_size=batch)
    chunks = lambda x: (x[i:i + batch] for i in range(0, len(x), batch))  # noqa: E731
    reference = ReferenceStats(*reference_statistics(detector, chunks(real)))
    everything = replace(get_protocol("standard"), n_generated_fid=len(generated))  # IS in 10 splits, FID on all
    result = score(detector, chunks(generated), reference, everything, len(generated))
    return result["fid"], result["inception_score_mean"]


def evaluate_torch_fidelity(generated, real, weights, batch, device):
    import torch_fidelity

    result = torch_fidelity.calculate_metrics(
        input1=_Images(generated), input2=_Images(real), isc=True, fid=True, isc_splits=10,
        samples_shuffle=False, feature_extractor_weights_path=weights, cuda=device.type == "cuda",
        cache=False, batch_size=batch, verbose=False)
    return result["frechet_inception_distance"], result["inception_score_mean"]


def random_weights(path: str) -> None:
    """TF-Inception with random weights, BN statistics calibrated on random images, logits spread."""
    from sngan_cli.metrics.tf_inception import TFInception

    torch.manual_seed(0)
    net = TFInception()
    with torch.no_grad():
        net.fc.weight.normal_(0.0, 0.2)
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None  # the calibration batch's own statistics
    net.train()
    with torch.no_grad():
        net(images(8, 3))
    torch.save(net.state_dict(), path)


def run_one(tool: str, n_generated: int, n_real: int, batch: int, device: torch.device) -> None:
    generated, real = images(n_generated, 1), images(n_real, 2)
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "random-inception.pth")
        random_weights(weights)
        evaluate = evaluate_sngan if tool == "sngan" else evaluate_torch_fidelity
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fewer samples than feature dimensions in small CPU runs
            fid, is_mean = evaluate(generated, real, weights, batch, device)
        seconds = time.perf_counter() - t0  # both return host numbers: synchronized
    peak = (f"cuda peak {torch.cuda.max_memory_allocated() / 2**20:>6.0f} MiB" if device.type == "cuda"
            else f"max RSS {peak_resident_mib():>6.0f} MiB")
    total = n_generated + n_real
    print(f"{tool:<15} {n_generated:>6}:{n_real:<6} {seconds:>9.1f} s {total / seconds:>9.1f} images/s  {peak}"
          f"  FID {fid:.4f}  IS {is_mean:.4f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["5000:10000", "50000:50000"], help="GENERATED:REAL pairs")
    p.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--in-process", action="store_true", help="(internal) measure one tool and size here")
    a = p.parse_args()
    if a.in_process:
        n_generated, n_real = (int(x) for x in a.sizes[0].split(":"))
        run_one(a.tools[0], n_generated, n_real, a.batch, torch.device(a.device))
        return
    print(f"# device={a.device} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"load={os.getloadavg()[0]:.2f} batch={a.batch}")
    print(f"{'tool':<15} {'gen:real':<13} {'wall':>11} {'throughput':>17}")
    for size in a.sizes:
        for tool in a.tools:
            subprocess.run([sys.executable, __file__, "--in-process", "--tools", tool, "--sizes", size,
                            "--batch", str(a.batch), "--device", a.device], check=True)


if __name__ == "__main__":
    main()
