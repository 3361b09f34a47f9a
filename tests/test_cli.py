"""The ``sngan`` entry point: usage, exit statuses, and the one-line errors of every command."""
import pytest

from sngan_cli import cli


def test_bare_sngan_prints_the_usage_to_stderr_and_fails(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and "usage: sngan <command>" in err and out == ""


def test_help_is_a_success(capsys):
    cli.main(["--help"])
    assert "usage: sngan <command>" in capsys.readouterr().out


def test_an_os_error_is_one_line_naming_the_file(capsys, monkeypatch):
    from sngan_cli.commands import report

    def fail(argv):
        raise PermissionError(13, "Permission denied", "/somewhere/report/table2.md")

    monkeypatch.setattr(report, "main", fail)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "runs"])
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert err == "sngan report: error: /somewhere/report/table2.md: Permission denied\n"


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_bench_refuses_a_width_that_is_not_a_finite_positive_number(value, capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", f"width={value}"])
    assert f"width={value} is not allowed: must be a finite number > 0" in capsys.readouterr().err
