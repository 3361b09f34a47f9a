"""`sngan bench` runs the real training step for each normalizer and writes its outputs (no timing
assertions: the numbers depend on the machine)."""
from __future__ import annotations

import csv
import json

import pytest
import torch

from sngan_cli.cli import main as cli_main

TINY_BENCH = ["resolution=16", "width=0.125", "batch_size=4", "warmup=1", "device=cpu"]


@pytest.fixture
def one_thread():
    """Tiny networks on a shared CPU run many times faster without intra-op threads spinning."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_bench_writes_json_csv_and_figure(tmp_path, capsys, one_thread):
    cli_main(["bench", "norms=spectral,gp", "loss=wasserstein", "steps=2", *TINY_BENCH, f"out={tmp_path}"])
    record = json.loads((tmp_path / "bench.json").read_text())
    assert [r["norm"] for r in record["results"]] == ["spectral", "gp"]
    assert all(r["seconds_per_100"] > 0 and r["steps"] == 2 for r in record["results"])
    assert (record["n_dis"], record["setting"], record["device"]) == (5, "A", "cpu")
    rows = list(csv.DictReader((tmp_path / "bench.csv").open()))
    assert [r["norm"] for r in rows] == ["spectral", "gp"]
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert "s / 100 G updates" in out and "bench.png" in out


@pytest.mark.parametrize("args, message", [
    (["norms=spectral,bogus"], "norms=spectral,bogus is not allowed"),
    (["dataset=nope"], "nope"),
    (["steps=0"], "steps=0 is not allowed"),
])
def test_bad_options_fail_before_work(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        cli_main(["bench", *TINY_BENCH, f"out={tmp_path}", *args])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()


def test_an_earlier_runs_results_are_kept_unless_overwrite(tmp_path, capsys, one_thread):
    earlier = {name: f"earlier {name}".encode() for name in ("bench.json", "bench.csv", "bench.png")}
    for name, content in earlier.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(SystemExit):
        cli_main(["bench", "norms=spectral", "steps=2", *TINY_BENCH, f"out={tmp_path}"])
    out, err = capsys.readouterr()
    assert f"out={tmp_path} holds an earlier run's bench.json, bench.csv, bench.png" in err and "overwrite=true" in err
    assert "s / 100 G updates" not in out  # refused before any timing
    assert {name: (tmp_path / name).read_bytes() for name in earlier} == earlier
    cli_main(["bench", "norms=spectral", "steps=2", *TINY_BENCH, f"out={tmp_path}", "overwrite=true"])
    assert json.loads((tmp_path / "bench.json").read_text())["results"][0]["norm"] == "spectral"
