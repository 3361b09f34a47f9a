"""`sngan report DIR [out=...]` from the command line."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from sngan_cli.cli import main as cli_main
from tests.conftest import compose_train
from tests.reporting.conftest import write_run

FILES = ("table2.md", "table2.csv", "table2.tex", "figure1.png", "figure2.png", "sources.json")


@pytest.fixture(scope="module")
def base():
    return OmegaConf.to_container(compose_train(), resolve=True)


def test_report_writes_into_dir_report(tmp_path, base, capsys):
    write_run(tmp_path, base, "cifar10/sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    write_run(tmp_path, base, "cifar10/wn/seed0", "weight_norm", "C", 0, status="failed", error="ValueError: x")
    cli_main(["report", str(tmp_path)])
    for name in FILES:
        assert (tmp_path / "report" / name).stat().st_size > 0
    out = capsys.readouterr().out
    assert "2 run(s)" in out and "cifar10/wn/seed0: failed at step 100: ValueError: x" in out


def test_report_to_another_directory_and_again(tmp_path, base):
    write_run(tmp_path / "runs", base, "sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    cli_main(["report", str(tmp_path / "runs"), f"out={tmp_path / 'elsewhere'}"])
    cli_main(["report", f"out={tmp_path / 'elsewhere'}", str(tmp_path / "runs")])  # rerun: replaced in place
    assert all((tmp_path / "elsewhere" / name).exists() for name in FILES)
    assert not (tmp_path / "runs" / "report").exists()


@pytest.mark.parametrize("args, message", [
    ([], "give exactly one run directory"),
    (["a", "b"], "give exactly one run directory"),
    (["{dir}", "bogus=1"], "unknown option bogus=1"),
    (["{dir}"], "no runs under"),
    (["{dir}/missing"], "is not a directory"),
])
def test_errors(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["report", *(a.format(dir=tmp_path) for a in args)])
    assert exit_info.value.code == 1
    assert message in capsys.readouterr().err


def test_report_runs_inside_dir_report_are_not_runs(tmp_path, base):
    write_run(tmp_path, base, "sn/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    cli_main(["report", str(tmp_path)])
    (tmp_path / "report" / "status.json").write_text("{}")  # would look like a run if walked
    cli_main(["report", str(tmp_path)])
    assert "report:" not in (tmp_path / "report" / "table2.md").read_text()


def test_help_says_report_takes_a_directory(capsys):
    cli_main(["report", "--help"])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "usage: sngan report DIR [out=OUT]" and "key=value" not in out


def test_the_advice_for_an_unreadable_eval_json_replaces_it(tiny_checkpoint, tmp_path, capsys):
    """A truncated eval.json is listed as unreadable with a command; that command (with a small n)
    writes a readable one, which the report then uses."""
    import json
    import shlex
    import shutil
    from pathlib import Path

    run = tmp_path / "runs" / "sn" / "seed0"
    shutil.copytree(Path(tiny_checkpoint).parent.parent, run)
    (run / "eval.json").write_text('{"inception_score_mean": 7.')
    cli_main(["report", str(tmp_path / "runs")])
    (problem,) = [line for line in capsys.readouterr().out.splitlines() if "eval.json" in line]
    advice = shlex.split(problem.split("eval.json is unreadable (")[1].split("): ", 1)[1])
    assert advice[:2] == ["sngan", "eval"] and "overwrite=true" in advice
    cli_main([*advice[1:], "n=64", "device=cpu"])
    assert isinstance(json.loads((run / "eval.json").read_text())["inception_score_mean"], float)
    from sngan_cli.reporting.runs import load_run

    assert load_run(str(run), str(tmp_path)).problems == []
