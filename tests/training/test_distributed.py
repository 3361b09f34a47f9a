"""Data-parallel training under torchrun, on the CPU with gloo and two processes.

Run as a script (``torchrun --nproc_per_node=2 tests/training/test_distributed.py RUN_DIR OUT_DIR
overrides...``) this file is also the worker: it trains with the tiny config and saves each rank's
G and D state dicts, so the test can compare the ranks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from sngan_cli.data import ImageSet
from sngan_cli.data.batches import BatchStream

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_RUN = ["train.sample_every=100", "train.log_every=1", "setting=C"]


def conftest():
    """tests/conftest.py as a module (TINY, compose_train), also from the torchrun workers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sngan_tests_conftest", os.path.join(ROOT, "tests", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def sngan_train(run_dir, *overrides: str) -> subprocess.CompletedProcess:
    return torchrun("-m", "sngan_cli", "train", *conftest().TINY, *TINY_RUN, f"hydra.run.dir={run_dir}", *overrides)


def weights(path):
    ckpt = torch.load(path, weights_only=True)
    return ckpt, {**{f"G.{k}": v for k, v in ckpt["G"].items()}, **{f"D.{k}": v for k, v in ckpt["D"].items()}}


def test_ranks_draw_disjoint_slices_of_the_one_process_batches():
    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1).expand(40, 3, 2, 2).contiguous()
    data = ImageSet("toy", 2, 0, images)
    one = BatchStream(data, 8, seed=1, device=torch.device("cpu"))
    ranks = [BatchStream(data, 4, seed=1, device=torch.device("cpu"), rank=r, world_size=2) for r in (0, 1)]
    for _ in range(12):  # several epochs
        whole = one.next()[0][:, 0, 0, 0]
        parts = [r.next()[0][:, 0, 0, 0] for r in ranks]
        assert torch.equal(torch.cat(parts), whole)
        assert ranks[0].state_dict() == ranks[1].state_dict() == one.state_dict()


def test_cuda_free_claims_one_gpu_per_run_and_frees_it(monkeypatch, tmp_path):
    import contextlib

    from sngan_cli import SnganError
    from sngan_cli.training import distributed

    monkeypatch.setattr(distributed.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: None)
    first, second, third = contextlib.ExitStack(), contextlib.ExitStack(), contextlib.ExitStack()
    assert distributed.claim_free_gpu(first) == torch.device("cuda", 0)
    assert distributed.claim_free_gpu(second) == torch.device("cuda", 1)
    with pytest.raises(SnganError, match="all 2 GPU"):
        distributed.claim_free_gpu(third)
    first.close()  # that run ended: its GPU is free again
    assert distributed.claim_free_gpu(third) == torch.device("cuda", 0)
    second.close()
    third.close()


@pytest.mark.slow
def test_two_ranks_stay_identical_and_rank0_checkpoints(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "ranks"
    torchrun(__file__, str(run_dir), str(out), "train.steps=3", "train.ckpt_every=3")
    (_, r0), (_, r1) = weights(out / "rank0.pt"), weights(out / "rank1.pt")
    assert r0.keys() == r1.keys()
    us = [k for k in r0 if k.endswith(".u") or k.endswith(".v")]
    assert len(us) == 16  # u and v of the 8 layers of Table 3's D
    for k in r0:  # weights, u and v, BN running statistics: bit for bit
        assert torch.equal(r0[k], r1[k]), k
    ckpt, saved = weights(run_dir / "checkpoints" / "last.pt")
    assert ckpt["step"] == 3 and ckpt["world_size"] == 2 and len(ckpt["rng_ranks"]) == 2
    assert not torch.equal(ckpt["rng_ranks"][0]["torch"], ckpt["rng_ranks"][1]["torch"])  # own latents per rank
    assert all(torch.equal(saved[k], r0[k]) for k in r0)
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_two_ranks_resume_equals_straight_bit_for_bit(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    sngan_train(straight, "train.steps=4", "train.ckpt_every=2")
    sngan_train(resumed, "train.steps=2", "train.ckpt_every=2")
    assert weights(resumed / "checkpoints" / "last.pt")[0]["step"] == 2
    sngan_train(resumed, "train.steps=4", "train.ckpt_every=2")
    (a, wa), (b, wb) = weights(straight / "checkpoints" / "last.pt"), weights(resumed / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == 4 and wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert sorted(os.listdir(straight / "samples")) == ["step_0000004.png"]


def _worker(run_dir: str, out_dir: str, overrides) -> None:
    from sngan_cli.training import loop
    c = conftest()
    captured = {}
    real_loop = loop._loop

    def capturing_loop(cfg, gan, *args):
        captured["gan"] = gan
        return real_loop(cfg, gan, *args)

    loop._loop = capturing_loop
    loop.train(c.compose_train(c.TINY + TINY_RUN + list(overrides)), run_dir)
    gan = captured["gan"]
    os.makedirs(out_dir, exist_ok=True)
    torch.save({"G": gan.G.state_dict(), "D": gan.D.state_dict()}, os.path.join(out_dir, f"rank{gan.dist.rank}.pt"))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    _worker(sys.argv[1], sys.argv[2], sys.argv[3:])
