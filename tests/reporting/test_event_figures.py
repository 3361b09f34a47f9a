"""Figures 9 and 10 from TensorBoard event files as training writes them."""
from __future__ import annotations

import json

import pytest

from torch.utils.tensorboard import SummaryWriter

from sngan_cli.reporting.build import write_report
from sngan_cli.reporting.figure10 import seconds_per_100
from sngan_cli.reporting.runs import load_run


def _log(run_dir, step_seconds, sigma=None):
    writer = SummaryWriter(str(run_dir))
    for step, seconds in enumerate(step_seconds, 1):
        writer.add_scalar("time/step_s", seconds, step * 10)
        if sigma is not None:
            writer.add_scalar("sigma_exact/convs.0.0", sigma, step * 10)
            writer.add_scalar("sigma_exact/fc", 1.0, step * 10)
    writer.close()


def test_figures_9_and_10(make_run, tmp_path):
    sn = make_run("cifar10/sn-A/seed0", "sn_gan", "A", 0, is_=7.0, fid=30.0)
    wn = make_run("cifar10/wn-A/seed0", "weight_norm", "A", 0, is_=6.0, fid=35.0)
    make_run("cifar10/wn-C/seed0", "weight_norm", "C", 0, is_=6.5, fid=33.0)  # n_dis = 1: not in Figure 10
    _log(sn, [3.0, 0.2, 0.2, 0.25], sigma=1.02)  # the start-up interval is slow: the median ignores it
    _log(wn, [0.1, 0.1, 0.1])
    assert seconds_per_100(load_run(str(sn), str(tmp_path / "runs"))) == pytest.approx(22.5)

    out = tmp_path / "runs" / "report"
    write_report(str(tmp_path / "runs"), str(out))
    cells = json.loads((out / "sources.json").read_text())["cells"]
    assert cells["figure9/cifar10"] == ["cifar10/sn-A/seed0"]
    assert cells["figure10/cifar10/SN-GANs"] == ["cifar10/sn-A/seed0"]
    assert cells["figure10/cifar10/Weight Norm."] == ["cifar10/wn-A/seed0"]
    for name in ("figure9.png", "figure10.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
