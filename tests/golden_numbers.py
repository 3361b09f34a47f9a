"""Fixed-seed runs whose numbers must not change when the code is reorganised (a refactor that
changes no number): the SHA-256 of the final weights of a few training steps for every normalizer
on both architectures, and ``sngan eval``'s scores of one checkpoint.

The runs use the public commands in a subprocess whose torch CPU kernels do not depend on the
machine's vector units (``ATEN_CPU_CAPABILITY=default``, ``MKL_CBWR=COMPATIBLE``, oneDNN off, one
thread), so the same code gives the same weights, bit for bit, on any x86-64 CPU; caches are made
afresh in the run's folder. The scores are not bit-portable: the feature statistics, the FID's
matrix square root and the Inception Score's exp/log go through numpy and scipy, whose BLAS/LAPACK
kernels follow the CPU (OpenBLAS picks Haswell or SkylakeX code) and move with every fresh install.
They are recorded as numbers and compared with :data:`SCORE_RTOL`.

``python tests/golden_numbers.py`` prints the digests and scores; tests/data/golden_numbers.json
holds the recorded ones (tests/test_golden_numbers.py).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

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
SCORES = ("inception_score_mean", "inception_score_std", "fid")
# Relative tolerance of the recorded scores. Different BLAS kernels change the order of a float64
# sum, which moves a result by a few units in the last place (~1e-16 relative); the square root of the
# feature covariance amplifies that by its condition number, still leaving it below 1e-10 here.
# A change of the evaluation itself moves the scores far more: one sample in 200 replaced, another
# resize or feature layer, a split boundary moved change the FID (about 3.4e3 here) by 1e-3 or more
# relative. SCORE_ATOL covers scores that are 0 up to rounding (the IS's std over identical splits).
SCORE_RTOL = 1e-6
SCORE_ATOL = 1e-9
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


def scores(result: Dict) -> Dict[str, float]:
    """The Inception Score (mean, std over the splits) and FID of an eval.json."""
    return {key: float(result[key]) for key in SCORES}


def changed_scores(measured: Dict[str, float], recorded: Dict[str, float]) -> List[str]:
    """The scores that moved beyond the tolerance (SCORE_RTOL, SCORE_ATOL), with both values."""
    return [f"{key}: {measured[key]!r} (recorded {recorded[key]!r})" for key in SCORES
            if not math.isclose(measured[key], recorded[key], rel_tol=SCORE_RTOL, abs_tol=SCORE_ATOL)]


def measure(workdir: Path) -> Dict[str, Dict]:
    """This checkout's numbers: ``weights``, the digest of each run by ``<arch>-<norm>``, and
    ``eval``, the scores of the cnn-spectral run."""
    workdir = Path(workdir)
    sngan("train", "-m", f"norm={','.join(NORMS)}", f"arch={','.join(ARCHS)}", *TRAIN,
          f"hydra.sweep.dir={workdir / 'runs'}", "hydra.sweep.subdir=${arch.name}-${norm.name}", cwd=workdir)
    weights = {f"{arch}-{norm}": weights_digest(workdir / "runs" / f"{arch}-{norm}" / "checkpoints" / "last.pt")
               for arch in ARCHS for norm in NORMS}
    sngan("eval", f"run={workdir / 'runs' / 'cnn-spectral'}", *EVAL, cwd=workdir)
    record = json.loads((workdir / "runs" / "cnn-spectral" / "eval.json").read_text())
    return {"weights": weights, "eval": scores(record)}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp)), indent=2, sort_keys=True))
