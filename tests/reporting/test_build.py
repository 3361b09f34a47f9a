"""`sngan report` on a synthetic tree of finished runs: every cell traceable, the paper's columns,
mean ± std, the best-setting pick, missing and failed runs marked, the figures written."""
from __future__ import annotations

import csv
import json

import pytest

from sngan_cli.reporting.build import write_report
from sngan_cli.reporting.paper import TABLE2
from tests.reporting.conftest import write_run

PNG = b"\x89PNG\r\n\x1a\n"
OURS = ("IS final", "IS best", "FID final", "FID best")


@pytest.fixture(scope="module")
def report(tmp_path_factory, base_config):
    root = tmp_path_factory.mktemp("tree")

    def run(rel, *args, **kwargs):
        return write_run(root, base_config, rel, *args, **kwargs)

    for seed, (is_, fid) in enumerate([(7.0, 30.0), (7.2, 28.0), (7.4, 26.0)]):
        metrics = [{"step": 50, "inception_score_mean": 7.6, "inception_score_std": 0.1, "fid": 25.0}] if seed == 0 else []
        run(f"cifar10/sn-C/seed{seed}", "sn_gan", "C", seed, is_=is_, fid=fid, metrics=metrics)
    run("cifar10/sn-D/seed0", "sn_gan", "D", 0, is_=6.0, fid=40.0)
    run("cifar10/sn-D/seed1", "sn_gan", "D", 1, is_=6.2, fid=41.0)
    run("cifar10/dup/sn-C-seed0", "sn_gan", "C", 0)  # same cell and seed, no evaluation: left out
    run("cifar10/wgan-A/seed0", "wgan_gp", "A", 0, is_=6.5, fid=40.0)
    run("cifar10/wgan-A/seed1", "wgan_gp", "A", 1, status="failed", step=7, error="RuntimeError: boom")
    run("cifar10/clip-A/seed0", "clip", "A", 0)  # finished, never evaluated
    run("cifar10/none-C/seed0", "none", "C", 0, is_=5.0, fid=80.0)
    run("cifar10/t7-sn-A/seed0", "table7_sn", "A", 0, is_=7.1, fid=33.0)
    run("cifar10/t7-wn-A/seed0", "table7_wn", "A", 0, is_=6.4, fid=41.0)
    run("cifar10/wide/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0, arch__d_width=2.0)  # no table has it
    for n_dis, is_ in ((1, 5.5), (10, 6.5)):
        run(f"cifar10/ndis{n_dis}/seed0", "sn_gan", "D", 0, is_=is_, fid=50.0, setting__n_dis=n_dis)
    for channels, is_ in ((16, 8.0), (64, 8.2)):
        run(f"stl10/dlast{channels}/seed0", "orthonormal", "C", 0, dataset="stl10", is_=is_, fid=50.0,
            arch__d_last_channels=channels)
    run("stl10/sn-C/seed0", "sn_gan", "C", 0, dataset="stl10", is_=8.0, fid=50.0)
    run("stl10/sn-C/seed1", "sn_gan", "C", 1, dataset="stl10", is_=8.2, fid=49.0,
        record={"protocol": "standard", "detector": "inception-2015-12-05", "n_generated": 50000})
    run("stl10/sn-2x-C/seed0", "sn_gan", "C", 0, dataset="stl10", is_=8.5, fid=45.0, name="2x", step=200, steps=200)
    run("digits/sn-C/seed0", "sn_gan", "C", 0, dataset="digits", is_=5.0, fid=60.0)
    run("digits/sn-C/seed1", "sn_gan", "C", 1, dataset="digits", is_=6.0, fid=50.0, arch__width=0.5)
    out = root / "report"
    result = write_report(str(root), str(out))
    rows = list(csv.DictReader((out / "table2.csv").open()))
    return {"root": root, "out": out, "result": result, "rows": rows,
            "sources": json.loads((out / "sources.json").read_text()), "md": (out / "table2.md").read_text()}


def row(report, dataset: str, method: str) -> dict:
    (found,) = [r for r in report["rows"] if r["dataset"] == dataset and r["method"] == method]
    return found


def test_mean_std_over_seeds_at_the_best_setting(report):
    sn = row(report, "cifar10", "SN-GANs")
    assert sn["setting"] == "C (best of 2)"  # C: mean IS 7.2 > D: 6.1
    assert sn["seeds"] == "3/3"  # the unevaluated duplicate of seed 0 is not counted
    # ± over splits, as Table 2; the seeds beside, with the 95% interval (t(0.975, 2) = 4.303): 7.2 ± 4.303 · 0.2/√3
    assert sn["IS final"] == "7.20 ± 0.10 (seeds ± 0.20, 95% CI 6.70–7.70)"
    assert sn["FID final"] == "28.0 ± 2.0 (95% CI 23.0–33.0)"
    assert sn["IS best"] == "7.40 ± 0.10 (seeds ± 0.20, 95% CI 6.90–7.90) @ 50/100/100"  # seed 0's best: 7.6 at step 50
    assert sn["FID best"] == "26.3 ± 1.5 (95% CI 22.5–30.1) @ 50/100/100"


def test_paper_columns_come_from_table2(report):
    assert row(report, "cifar10", "SN-GANs")["IS paper"] == "7.42 ± 0.08"
    assert row(report, "cifar10", "SN-GANs")["FID paper"] == "29.3"
    assert row(report, "stl10", "SN-GANs")["IS paper"] == "8.28 ± 0.09"
    assert row(report, "stl10", "GAN-GP")["IS paper"] == "n/a"
    assert row(report, "cifar10", "ResNet: SN-GANs, Eq. (17)")["FID paper"] == "21.7 ± 0.21"
    twice = row(report, "stl10", "SN-GANs (2x updates)")
    assert (twice["IS final"], twice["IS paper"], twice["FID paper"]) == ("8.50 ± 0.10", "8.69 ± 0.09", "47.5")


def test_a_dataset_the_paper_did_not_use_shows_cifar10_as_the_reference(report):
    assert row(report, "digits", "SN-GANs")["IS paper"] == "7.42 ± 0.08"
    assert "did not use digits" in report["md"]


def test_a_cell_holds_one_configuration_and_lists_the_runs_left_out(report):
    digits = row(report, "digits", "SN-GANs")
    assert (digits["seeds"], digits["IS final"], digits["runs"]) == ("1/1", "5.00 ± 0.10", "digits/sn-C/seed0")
    (line,) = [e for e in report["sources"]["excluded"] if e.startswith("digits/sn-C/seed1")]
    assert line.endswith("SN-GANs, setting C: another configuration than the 1 run(s) of its cell: "
                         "arch.width=0.5 (the cell's: 1.0)")
    assert "digits/sn-C/seed1" in report["md"][report["md"].index("## Runs left out of a cell"):]


def test_runs_of_another_configuration_are_no_seeds_of_the_cell_but_the_moving_average_is(tmp_path, make_run):
    """train.batch_size=16 beside the default is another configuration: left out, named; train.ema and
    its options change only G_ema's numbers, so those runs are seeds of the cell."""
    for seed in range(3):
        make_run(f"sn/seed{seed}", "sn_gan", "C", seed, is_=7.0 + seed / 10, fid=30.0,
                 **({"train__ema": True, "train__ema_decay": 0.999} if seed == 2 else {}))
    for seed in (3, 4):
        make_run(f"sn-b16/seed{seed}", "sn_gan", "C", seed, is_=9.0, fid=10.0, train__batch_size=16)
    report = write_report(str(tmp_path / "runs"), str(tmp_path / "report"))
    rows = {r["method"]: r for r in csv.DictReader((tmp_path / "report" / "table2.csv").open())}
    assert rows["SN-GANs"]["seeds"] == "3/3" and rows["SN-GANs"]["IS final"].startswith("7.10 ± 0.10")
    assert rows["SN-GANs"]["runs"].split() == [f"sn/seed{s}" for s in range(3)]
    record = json.loads((tmp_path / "report" / "sources.json").read_text())
    assert [e.split(":")[0] for e in record["excluded"]] == ["sn-b16/seed3", "sn-b16/seed4"]
    assert all("train.batch_size=16" in e for e in record["excluded"])
    assert report.runs and "differ in" not in (tmp_path / "report" / "table2.md").read_text()


def test_every_number_traces_to_existing_runs(report):
    root, cells = report["root"], report["sources"]["cells"]
    assert all((root / run / "eval.json").is_file() for runs in cells.values() for run in runs)
    keys = {paper_row.label: paper_row.key for paper_row in TABLE2}
    checked = 0
    for r in report["rows"]:
        numbers = [c for c in OURS if r[c] != "—"]
        assert bool(numbers) == bool(r["runs"])
        for column in numbers:
            if r["method"] in keys:
                sources = cells[f"table2/{r['dataset']}/{keys[r['method']]}/{column}"]
                assert sources and set(sources) <= set(r["runs"].split())
                checked += 1
    assert checked >= 12
    assert row(report, "cifar10", "SN-GANs")["runs"].split() == [f"cifar10/sn-C/seed{s}" for s in range(3)]


def test_missing_and_failed_runs_are_marked(report):
    clip = row(report, "cifar10", "Weight clipping")
    assert (clip["setting"], clip["seeds"], clip["IS final"]) == ("—", "0/1", "—")
    assert row(report, "cifar10", "WGAN-GP")["seeds"] == "1/2"
    assert row(report, "cifar10", "Batch Norm.")["IS final"] == "—"
    missing = "\n".join(report["result"].missing)
    assert "cifar10/wgan-A/seed1: failed at step 7: RuntimeError: boom" in missing
    assert "cifar10/clip-A/seed0: finished at step 100, no eval.json" in missing
    assert "RuntimeError: boom" in report["md"]
    assert report["sources"]["duplicates"] == ["cifar10/dup/sn-C-seed0"]
    assert "cifar10: SN-GANs, setting D, seed 2: no run found" in report["sources"]["absent"]
    assert report["sources"]["not_shown"] == ["cifar10/wide/seed0: deviates in arch.d_width"]


def test_other_combinations_get_rows_and_ablations_stay_out_of_table2(report):
    extra = row(report, "cifar10", "cnn / norm=none / loss=standard")
    assert (extra["IS final"], extra["IS paper"]) == ("5.00 ± 0.10", "n/a")
    all_runs = " ".join(r["runs"] for r in report["rows"])
    assert "ndis" not in all_runs and "dlast" not in all_runs and "t7-sn" not in all_runs


def test_protocol_is_stated_and_mixtures_flagged(report):
    md = report["md"]
    assert "protocol=paper: IS on 5000 generated images in 10 splits, FID of 5000 of them against 10000 real images of cifar10/train" in md
    assert "detector inception-2015-12-05 (weights sha256 6726825d...)" in md
    stl = md[md.index("## Table 2, STL-10"):md.index("## Table 2, digits")]
    assert "MIXED PROTOCOLS" in stl and "MIXED" not in md[:md.index("## Table 2, STL-10")]


def test_table7_and_sweep_figures_when_the_runs_support_them(report):
    out = report["out"]
    table7 = list(csv.DictReader((out / "table7.csv").open()))
    sn = next(r for r in table7 if r["method"] == "w/ Spectral Norm.")
    assert (sn["IS final"], sn["IS paper"], sn["runs"]) == ("7.10 ± 0.10", "7.20 ± 0.08", "cifar10/t7-sn-A/seed0")
    wn = next(r for r in table7 if r["method"] == "w/ Weight Norm.")
    assert (wn["IS final"], wn["IS paper"], wn["runs"]) == ("6.40 ± 0.10", "6.36 ± 0.04", "cifar10/t7-wn-A/seed0")
    frobenius = next(r for r in table7 if r["method"] == "w/ Frobenius Norm.")
    assert (frobenius["runs"], frobenius["IS final"], frobenius["IS paper"]) == ("", "—", "n/a")
    cells = report["sources"]["cells"]
    assert cells["figure11/cifar10/SN-GANs/1"] == ["cifar10/ndis1/seed0"]
    assert sorted(cells["figure11/cifar10/SN-GANs/5"]) == ["cifar10/sn-D/seed0", "cifar10/sn-D/seed1"]
    assert cells["figure4/stl10/Orthonormal, setting C/64"] == ["stl10/dlast64/seed0"]
    assert cells["figure1/cifar10/sn_gan/C"] == cells["table2/cifar10/sn_gan/IS final"]


@pytest.mark.parametrize("name", ["figure1.png", "figure2.png", "figure4.png", "figure11.png"])
def test_figures_are_png(report, name):
    data = (report["out"] / name).read_bytes()
    assert data.startswith(PNG) and len(data) > 1000


def test_latex_and_markdown_hold_every_row(report):
    tex = (report["out"] / "table2.tex").read_text()
    assert tex.count(r"\begin{tabular}") == 3
    assert r"7.20 $\pm$ 0.10 (seeds $\pm$ 0.20, 95\% CI 6.70--7.70)" in tex and "SN-GANs, Eq. (17) (2x updates)" in tex
    assert report["md"].count("| SN-GANs |") == 3
