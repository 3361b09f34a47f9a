"""Every ``sngan COMMAND --help`` the commands build (commands/options.py's usage) opens with a summary
of whole sentences: it starts with a capital letter and ends with a full stop."""
from __future__ import annotations

import importlib

import pytest

from sngan_cli.cli import COMMANDS


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "train"])  # train's help is Hydra's
def test_the_summary_is_whole_sentences(command, capsys):
    importlib.import_module(COMMANDS[command][0]).main(["--help"])
    out = capsys.readouterr().out
    summary = out.split("\n\n")[1]  # usage line, summary, options
    assert summary[0].isupper() and summary.endswith("."), summary
