"""Fixed-seed runs whose numbers must not change when the code is reorganised (a refactor that
changes no number): the SHA-256 of the final weights of a few training steps for every normalizer
on both architectures, and of ``sngan eval``'s scores of one checkpoint.

The runs use the public commands in a subprocess whose CPU kernels do not depend on the machine's
vector units (``ATEN_CPU_CAPABILITY=default``, ``MKL_CBWR=COMPATIBLE``, oneDNN off, one thread), so
the same code gives the same bits on any x86-64 CPU; caches are made afresh in the run's folder. ``python tests/golden_numbers.py`` prints the
digests; tests/data/golden_numbers.json holds the recorded ones (tests/test_golden_numbers.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import torch

from sngan_cli.norms import available

RECORDED = Path(__file__).with_name("data") / "golden_numbers.json"
NORMS = available()  # every registered normalizer (sngan_cli/norms), sorted
ARCHS = ("cnn", "resnet")
# tiny runs: digits at 16 px, narrow networks, 3 generator updates of n_dis = 2 (setting A's lr and betas)
TRAIN = ["dataset=digits", "dataset.resolution=16", "arch.width=0.125", "train.batch_size=8",
         "train.g_batch_size=8", "train.n_samples_grid=4", "train.log_every=1", "train.steps=3",
         "train.ckpt_every=3", "train.sample_every=3", "setting=A", "setting.n_dis=2", "device=cpu"]
EVAL = ["detector=digits-classifier", "n=200", "device=cpu"]
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "HYDRA_FULL_ERROR": "1"}
SNGAN = "import sys, torch; torch.backends.mkldnn.enabled = False; from sngan_cli.cli import main; main(sys.argv[1:])"


def sngan(*args: str, cwd: Path) -> None:
    # caches (the digits classifier, the real statistics) made afresh in the same environment
    env = {**os.environ, **PORTABLE_ENV, "XDG_CACHE_HOME": str(cwd / "cache"), "TORCH_HOME": str(cwd / "torch")}
    proc = subprocess.run([sys.executable, "-c", SNGAN, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise AssertionError(f"sngan {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def weights_digest(checkpoint: Path) -> str:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    h = hashlib.sha256()
    for part in ("G", "D"):
        for key in sorted(state[part]):
            tensor = state[part][key].detach().cpu().contiguous()
            h.update(f"{part}.{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            h.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return h.hexdigest()


def scores_digest(result: Dict) -> str:
    """The Inception Score (mean, std over the splits) and FID of an eval.json, as exact decimals."""
    numbers = [result["inception_score_mean"], result["inception_score_std"], result["fid"]]
    return hashlib.sha256(" ".join(float(x).hex() for x in numbers).encode()).hexdigest()


def measure(workdir: Path) -> Dict[str, str]:
    """The digests of this checkout: ``<arch>-<norm>`` for each run, and ``eval`` for the scores."""
    workdir = Path(workdir)
    sngan("train", "-m", f"norm={','.join(NORMS)}", f"arch={','.join(ARCHS)}", *TRAIN,
          f"hydra.sweep.dir={workdir / 'runs'}", "hydra.sweep.subdir=${arch.name}-${norm.name}", cwd=workdir)
    digests = {f"{arch}-{norm}": weights_digest(workdir / "runs" / f"{arch}-{norm}" / "checkpoints" / "last.pt")
               for arch in ARCHS for norm in NORMS}
    sngan("eval", f"run={workdir / 'runs' / 'cnn-spectral'}", *EVAL, cwd=workdir)
    record = json.loads((workdir / "runs" / "cnn-spectral" / "eval.json").read_text())
    digests["eval"] = scores_digest(record)
    return digests


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp)), indent=2, sort_keys=True))
