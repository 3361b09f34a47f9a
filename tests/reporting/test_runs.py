"""Reading a run directory for the report: every file of the wrong kind, cut short or unreadable is
one listed problem of that run, and the report goes on with the others."""
from __future__ import annotations

import json

import pytest

from sngan_cli.reporting.build import write_report
from sngan_cli.reporting.runs import load_run

WRONG = [
    ("eval.json", "[1, 2]", "eval.json holds a list, not a JSON object"),
    ("eval.json", '"x"', "eval.json holds a string, not a JSON object"),
    ("eval.json", '{"inception_score_mean": 7.0, "fid": 30.0, "step": 100, "record": "x"}',
     "eval.json has a record that is a string, not a JSON object"),
    ("eval.json", '{"inception_score_mean": 7.0, "fi', "eval.json is unreadable ("),
    ("eval_ema.json", "[1, 2, 3]", "eval_ema.json holds a list, not a JSON object"),
    ("status.json", '"x"', "status.json holds a string, not a JSON object"),
    ("metrics.jsonl", '[1]\n{"step": 1, "record": 3}\n', "metrics.jsonl line 1 holds a list, not a JSON object"),
    (".hydra/config.yaml", "- 1\n- 2\n", ".hydra/config.yaml holds a list, not a config"),
]


@pytest.mark.parametrize("name, content, problem", WRONG, ids=[f"{n}={c[:12]}" for n, c, _ in WRONG])
def test_a_file_of_the_wrong_kind_is_one_problem_and_the_report_goes_on(name, content, problem, tmp_path, make_run):
    good = make_run("sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    bad = make_run("sn/seed1", "sn_gan", "C", 1, is_=7.2, fid=28.0)
    (bad / name).write_text(content)
    report = write_report(str(tmp_path / "runs"), str(tmp_path / "report"))
    mine = [line for line in report.missing if line.startswith("sn/seed1: ")]
    assert [line for line in mine if problem in line], mine
    assert len([line for line in mine if name.split("/")[-1] in line]) == 1 + (name == "metrics.jsonl")
    assert not any(line.startswith("sn/seed0") for line in report.missing)
    assert "sn/seed0" in json.loads((tmp_path / "report" / "sources.json").read_text())["cells"][
        "table2/cifar10/sn_gan/IS final"]
    assert good.exists()


def test_an_unreadable_eval_json_advises_a_command_that_replaces_it(tmp_path, make_run):
    run = make_run("sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    (run / "eval.json").write_text('{"inception_score_mean": 7.')
    (problem,) = load_run(str(run), str(tmp_path)).problems
    assert problem.startswith("eval.json is unreadable (") and problem.endswith(f"sngan eval run={run} overwrite=true")
    report = write_report(str(tmp_path / "runs"), str(tmp_path / "report"))
    assert not any("no eval.json" in line for line in report.missing)  # unreadable, not missing
