"""Scores, means over seeds, duplicates and the best-setting pick."""
from __future__ import annotations

import statistics

import pytest

from sngan_cli.reporting.cells import FID, IS, best_score, best_setting, cell, distinct_seeds, final_score
from sngan_cli.reporting.runs import Run


def _run(rel, seed=0, is_=None, fid=None, step=100, metrics=(), setting="C", split_std=None):
    evaluation = None if is_ is None else {"inception_score_mean": is_, "fid": fid, "step": step}
    if split_std is not None:
        evaluation["inception_score_std"] = split_std
    return Run(path=f"/r/{rel}", rel=rel, config={"seed": seed, "setting": {"name": setting}}, status=None,
               eval=evaluation, metrics=list(metrics))


def test_final_and_best_scores_with_their_steps():
    run = _run("a", is_=7.0, fid=30.0, metrics=[{"step": 10, "inception_score_mean": 7.5, "fid": 35.0},
                                                  {"step": 20, "inception_score_mean": 6.0, "fid": 25.0}])
    assert (final_score(run, IS).value, final_score(run, IS).step) == (7.0, 100)
    assert (best_score(run, IS).value, best_score(run, IS).step) == (7.5, 10)  # highest IS
    assert (best_score(run, FID).value, best_score(run, FID).step) == (25.0, 20)  # lowest FID


def test_missing_and_non_finite_values_are_no_score():
    assert final_score(_run("a"), IS) is None
    assert final_score(_run("b", is_=7.0, fid=None), FID) is None
    assert final_score(_run("c", is_=float("nan")), IS) is None


def test_mean_and_sample_std_over_seeds():
    c = cell([_run("a", 0, 6.0), _run("b", 1, 7.0), _run("c", 2, 8.5), _run("d", 3)], IS)
    assert c.mean == pytest.approx(statistics.fmean([6.0, 7.0, 8.5]))
    assert c.std == pytest.approx(statistics.stdev([6.0, 7.0, 8.5]))
    assert c.sources == ["a", "b", "c"] and c.missing == ["d"]
    assert c.text(IS) == "7.17 ± 1.26 (95% CI 4.04–10.29)"  # t(0.975, 2) · s/√3 = 3.13
    single = cell([_run("a", 0, 6.0)], IS)
    assert (single.std, single.text(IS)) == (None, "6.00")
    assert cell([], IS).text(IS) == "—"


def test_is_carries_the_std_over_its_splits_as_table2_and_the_seed_spread_beside_it():
    one = cell([_run("a", 0, 7.42, split_std=0.08)], IS)
    assert one.text(IS) == "7.42 ± 0.08"  # Table 2's ±: the 10 splits of one run
    three = cell([_run("a", 0, 7.0, split_std=0.1), _run("b", 1, 7.5, split_std=0.2), _run("c", 2, 8.0, split_std=0.3)],
                 IS)
    assert three.split_std == pytest.approx(0.2)
    assert three.text(IS) == f"7.50 ± 0.20 (seeds ± {statistics.stdev([7.0, 7.5, 8.0]):.2f}, 95% CI 6.26–8.74)"
    # FID has no splits: mean ± the spread over seeds, as before
    assert cell([_run("a", 0, 7.0, 30.0, split_std=0.1), _run("b", 1, 7.0, 32.0, split_std=0.1)], FID).text(FID) == \
        f"31.0 ± {statistics.stdev([30.0, 32.0]):.1f} (95% CI 18.3–43.7)"  # t(0.975, 1) = 12.71: two seeds say little


def test_a_seed_counts_once_preferring_the_evaluated_latest_run():
    runs = [_run("x/no-eval", 0), _run("y/early", 0, 6.0, step=50), _run("z/late", 0, 7.0, step=100), _run("w", 1, 5.0)]
    kept, duplicates = distinct_seeds(runs)
    assert [r.rel for r in kept] == ["w", "z/late"]
    assert sorted(r.rel for r in duplicates) == ["x/no-eval", "y/early"]


def test_best_setting_is_the_highest_mean_final_is():
    by_setting = {"A": [_run("a0", 0, 6.0), _run("a1", 1, 8.0)], "B": [_run("b0", 0, 6.5)], "C": [_run("c0", 0)]}
    assert best_setting(by_setting) == "A"  # mean 7.0
    assert best_setting({"C": [_run("c0", 0)]}) is None
    assert best_setting({"B": [_run("b", 0, 6.0)], "A": [_run("a", 0, 6.0)]}) == "A"  # ties: by name


def test_seeds_of_a_cell_may_differ_only_in_keys_that_do_not_change_g_numbers():
    """The report's grouping and the resume check share config.changes_numbers; the moving average's
    keys (config.EMA_ONLY) change only G_ema's numbers and do not split a cell."""
    from sngan_cli.reporting.cells import one_configuration

    def run(seed, **train):
        return Run(path=f"/r/{seed}", rel=str(seed), status=None, eval=None,
                   config={"seed": seed, "name": f"n{seed}", "train": {"compile": False, "amp": "none", **train},
                           "eval": {"protocol": "paper", "quantize": "truncate"}})

    same = [run(0), run(1, compile=True, log_every=7), run(2, ema=True, ema_decay=0.99, ema_start=3)]
    assert one_configuration(same) == (same, [])
    kept, excluded = one_configuration([run(0), run(1, amp="bf16"), run(2), run(3, tf32=True)])
    assert [r.rel for r in kept] == ["0", "2"]
    assert [(r.rel, why.split(": ", 1)[1]) for r, why in excluded] == [
        ("1", "train.amp='bf16' (the cell's: 'none')"), ("3", "train.tf32=True (the cell's: None)")]
    kept, excluded = one_configuration([run(0, amp="bf16"), run(1)])  # equals: the first in path order
    assert [r.rel for r in kept] == ["0"] and [r.rel for r, _ in excluded] == ["1"]


def test_another_architectures_keys_in_an_older_runs_config_do_not_split_a_cell():
    """Configs written before each architecture had its own keys hold every architecture's (arch.d_pool
    in a CNN run); a run written since holds only its own: the two are one configuration."""
    from sngan_cli.reporting.cells import one_configuration

    def run(seed, **arch):
        return Run(path=f"/r/{seed}", rel=str(seed), status=None, eval=None,
                   config={"seed": seed, "arch": {"name": "cnn", "d_slope": 0.2, **arch}})

    old, new = run(0, d_pool="sum", d_fc_bias=False, residual_gain=1.41), run(1)
    assert one_configuration([old, new]) == ([old, new], [])
    kept, excluded = one_configuration([old, new, run(2), run(3, d_slope=0.1)])
    assert [r.rel for r in kept] == ["0", "1", "2"]
    assert [(r.rel, why.split(": ", 1)[1]) for r, why in excluded] == [("3", "arch.d_slope=0.1 (the cell's: 0.2)")]
