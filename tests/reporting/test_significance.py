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


def test_the_moving_average_is_compared_with_g_seed_by_seed(tmp_path, make_run):
    import json

    from sngan_cli.reporting.significance import paired

    g_is, ema_is = [7.0, 7.2, 7.4], [7.1, 7.35, 7.45]
    for seed, (a, b) in enumerate(zip(g_is, ema_is)):
        run = make_run(f"sn/seed{seed}", "sn_gan", "C", seed, is_=a, fid=30.0)
        (run / "eval_ema.json").write_text(json.dumps({"inception_score_mean": b, "inception_score_std": 0.1,
                                                        "fid": 29.0, "step": 100, "record": {}}))
    make_run("wn/seed0", "weight_norm", "C", 0, is_=6.0, fid=40.0)  # no eval_ema.json: no line
    out = tmp_path / "report"
    write_report(str(tmp_path / "runs"), str(out))
    text = (out / "table2.md").read_text()
    p = stats.ttest_rel(ema_is, g_is).pvalue
    assert paired(ema_is, g_is).p == pytest.approx(p)
    assert (f"cifar10: SN-GANs, setting C, 3 seeds: IS 7.20 → 7.30 (p {p:.2f}); FID 30.0 → 29.0 (p 0.00)"
            in text)
    section = text.split("G's moving average")[1].split("## ")[0]
    assert "Weight Norm." not in section
