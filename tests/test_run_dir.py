"""run_dir.py: the one place a run directory's file names are written; the status record round-trips."""
import ast
import os

import sngan_cli
from sngan_cli import run_dir

NAMES = {run_dir.STATUS, run_dir.EVAL, run_dir.EVAL_EMA, run_dir.METRICS, run_dir.SUMMARY, run_dir.LAST,
         run_dir.PREVIOUS, run_dir.CHECKPOINTS, run_dir.CHECKPOINT, run_dir.HYDRA_CONFIG}


def _string_constants(path):
    """The string literals of a module's code (docstrings left out: they may name the files)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_run_directory_s_names_are_stated_only_in_run_dir():
    root = os.path.dirname(sngan_cli.__file__)
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != run_dir.__file__:
                found += [(os.path.relpath(path, root), s) for s in _string_constants(path) if s in NAMES]
    assert found == [("metrics/tf_inception.py", "checkpoints")]  # torch hub's folder, not a run's


def test_status_round_trips_and_a_missing_or_broken_one_reads_as_none(tmp_path):
    assert run_dir.read_status(str(tmp_path)) is None
    run_dir.write_status(str(tmp_path), "failed", 7, "ValueError: x")
    assert run_dir.read_status(str(tmp_path)) == {"status": "failed", "step": 7, "error": "ValueError: x"}
    (tmp_path / run_dir.STATUS).write_text('{"status": "runn')
    assert run_dir.read_status(str(tmp_path)) is None
