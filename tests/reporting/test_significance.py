"""Seeds and significance: the 95% interval over seeds and Welch's t-test against SN-GANs, in the
report's tables."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from sngan_cli.reporting.build import write_report
from sngan_cli.reporting.significance import interval95, welch


def test_the_interval_is_students_t_interval_of_the_mean():
    values = [7.0, 7.3, 7.1, 7.6]
    mean, sem = sum(values) / 4, stats.sem(values)
    assert interval95(values) == pytest.approx(stats.t.interval(0.95, 3, loc=mean, scale=sem))
    assert interval95([7.0]) is None
    assert interval95([5.0, 5.0]) == (5.0, 5.0)


def test_welch_matches_the_textbook_statistic():
    a, b = [7.0, 7.2, 7.4], [6.0, 6.5, 6.1, 6.3]
    va, vb = stats.tvar(a), stats.tvar(b)
    t = (sum(a) / 3 - sum(b) / 4) / math.sqrt(va / 3 + vb / 4)
    df = (va / 3 + vb / 4) ** 2 / ((va / 3) ** 2 / 2 + (vb / 4) ** 2 / 3)  # Welch-Satterthwaite
    got = welch(a, b)
    assert got.p == pytest.approx(2 * stats.t.sf(abs(t), df)) and got.holds
    assert got.delta == pytest.approx(7.2 - 6.225)
    assert welch([7.0, 7.2, 7.4], [7.1, 7.3, 7.2]).holds is False  # overlapping seeds: does not hold
    assert welch([7.0], [7.1, 7.3]) is None  # one seed: nothing to test


def test_the_table_marks_differences_that_do_not_hold(tmp_path, make_run):
    for seed, (sn, ortho, clip) in enumerate([(7.0, 7.1, 5.0), (7.2, 7.3, 5.1), (7.4, 7.2, 5.2)]):
        make_run(f"sn/seed{seed}", "sn_gan", "C", seed, is_=sn, fid=30.0 - seed)
        make_run(f"ortho/seed{seed}", "orthonormal", "C", seed, is_=ortho, fid=30.5 - seed)
        make_run(f"clip/seed{seed}", "clip", "C", seed, is_=clip, fid=60.0 + seed)
    make_run("wn/seed0", "weight_norm", "C", 0, is_=6.0, fid=40.0)
    out = tmp_path / "report"
    write_report(str(tmp_path / "runs"), str(out))
    text = (out / "table2.md").read_text()
    lines = {line.split("|")[1].strip(): line.split("|")[-2].strip() for line in text.splitlines()
             if line.startswith("| ") and "method" not in line}
    assert lines["SN-GANs"] == "reference"
    assert lines["Orthonormal"].startswith("IS +0.00 (p 1.000, n.s.); FID +0.5 (p ")
    assert lines["Orthonormal"].endswith("n.s.)")
    clip = lines["Weight clipping"]
    assert clip.startswith("IS -2.10 (p 0.001)") and "n.s." not in clip  # far apart over three seeds: holds
    assert lines["Weight Norm."] == "IS ? ; FID ?".replace(" ;", ";")  # one seed: nothing to test
    assert "Every method and setting with several seeds" in text
    assert "cifar10: SN-GANs, setting C: IS 7.20 ± 0.20 (95% CI 6.70–7.70), 3 seeds" in text


def _ema(run, is_, fid=29.0, step=100, record=None):
    import json

    from tests.reporting.conftest import RECORD

    (run / "eval_ema.json").write_text(json.dumps({"inception_score_mean": is_, "inception_score_std": 0.1,
                                                    "fid": fid, "step": step, "record": record or RECORD}))


def test_the_moving_average_is_compared_with_g_seed_by_seed(tmp_path, make_run):
    from sngan_cli.reporting.significance import paired

    g_is, ema_is = [7.0, 7.2, 7.4], [7.1, 7.35, 7.45]
    for seed, (a, b) in enumerate(zip(g_is, ema_is)):
        _ema(make_run(f"sn/seed{seed}", "sn_gan", "C", seed, is_=a, fid=30.0), b)
    make_run("wn/seed0", "weight_norm", "C", 0, is_=6.0, fid=40.0)  # no eval_ema.json: no line
    out = tmp_path / "report"
    write_report(str(tmp_path / "runs"), str(out))
    text = (out / "table2.md").read_text()
    p = stats.ttest_rel(ema_is, g_is).pvalue
    assert paired(ema_is, g_is).p == pytest.approx(p)
    assert (f"cifar10: SN-GANs, setting C, 3 of 3 seeds scored both ways: IS 7.20 → 7.30 (p {p:.2f}, 3 seeds); "
            f"FID 30.0 → 29.0 (p 0.00, 3 seeds)" in text)
    section = text.split("G's moving average")[1].split("## ")[0]
    assert "Weight Norm." not in section


def test_g_and_g_ema_are_compared_only_at_one_step_and_protocol_and_every_number_says_its_runs(tmp_path, make_run):
    """G at step 40 beside G_ema at step 30, or scored on other sample counts, is no pair: left out,
    named with the command that scores the stale one again; a stale eval_ema.json is flagged like a
    stale eval.json; a NaN score leaves its run out of that metric only, and says so."""
    import json

    from tests.reporting.conftest import RECORD

    _ema(make_run("sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0, step=40), 7.5, step=30)
    _ema(make_run("sn/seed1", "sn_gan", "C", 1, is_=7.2, fid=30.0), 7.3, record={**RECORD, "n_generated": 500})
    _ema(make_run("sn/seed2", "sn_gan", "C", 2, is_=7.4, fid=30.0), 7.6)
    _ema(make_run("sn/seed3", "sn_gan", "C", 3, is_=7.6, fid=30.0), 7.7, fid=float("nan"))
    make_run("sn/seed4", "sn_gan", "C", 4, is_=float("nan"), fid=31.0)
    out = tmp_path / "report"
    report = write_report(str(tmp_path / "runs"), str(out))
    text = (out / "table2.md").read_text()
    section = text.split("## G's moving average")[1].split("## ")[0]
    p = stats.ttest_rel([7.6, 7.7], [7.4, 7.6]).pvalue
    assert (f"cifar10: SN-GANs, setting C, 2 of 5 seeds scored both ways: IS 7.50 → 7.65 (p {p:.2f}, 2 seeds); "
            f"FID 30.0 → 29.0 (1 seed)") in section
    left_out = json.loads((out / "sources.json").read_text())["ema_left_out"]
    runs = tmp_path / "runs"
    assert left_out[0] == (f"cifar10: sn/seed0: eval.json is from step 40, eval_ema.json from step 30 "
                           f"(sngan eval run={runs / 'sn/seed0'} g=ema overwrite=true)")
    assert left_out[1].startswith("cifar10: sn/seed1: eval.json and eval_ema.json were scored otherwise: "
                                  "n_generated 5000 and 500")
    assert left_out[2] == "cifar10: sn/seed3: FID of G or G_ema is not a finite number"
    missing = "\n".join(report.missing)
    assert "sn/seed4: eval.json holds inception_score_mean=nan: the run is left out of those columns" in missing
    # the table's FID stands on more runs than its IS, and says so
    import csv

    (sn,) = [r for r in csv.DictReader((out / "table2.csv").open()) if r["method"] == "SN-GANs"]
    assert sn["seeds"] == "4/5 (FID final 5, FID best 5)"
    (runs / "sn/seed2" / "status.json").write_text(json.dumps({"status": "finished", "step": 120}))
    report = write_report(str(runs), str(out))
    assert any(line.startswith("sn/seed2: eval_ema.json is from step 100 but the run is at step 120")
               for line in report.missing)
