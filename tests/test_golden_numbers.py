"""The numbers do not move when the code is reorganised: fixed-seed runs of every normalizer on both
architectures end with the recorded weights, bit for bit, and ``sngan eval`` gives the recorded
scores within a stated tolerance (tests/golden_numbers.py says how the runs are made
machine-independent, and why the scores can only be compared with a tolerance).

A change that is meant to change the numbers records them anew with
``python tests/golden_numbers.py > tests/data/golden_numbers.json`` and says why in its commit."""
from __future__ import annotations

import json

import pytest

from tests import golden_numbers


@pytest.mark.slow
def test_every_normalizer_and_eval_give_the_recorded_numbers(tmp_path):
    recorded = json.loads(golden_numbers.RECORDED.read_text())
    measured = golden_numbers.measure(tmp_path)
    weights = recorded["weights"]
    assert sorted(measured["weights"]) == sorted(weights), "a normalizer or architecture was added or removed: record anew"
    changed = [name for name in weights if measured["weights"][name] != weights[name]]
    assert not changed, f"weights changed for {', '.join(changed)}"
    moved = golden_numbers.changed_scores(measured["eval"], recorded["eval"])
    assert not moved, f"eval's scores changed: {'; '.join(moved)}"


def test_the_digest_sees_a_one_ulp_change(tmp_path):
    import torch

    path = tmp_path / "last.pt"
    state = {"G": {"w": torch.ones(3)}, "D": {"w": torch.ones(2)}}
    torch.save(state, path)
    before = golden_numbers.weights_digest(path)
    state["D"]["w"][1] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))
    torch.save(state, path)
    assert golden_numbers.weights_digest(path) != before


def test_the_score_tolerance_takes_rounding_and_sees_a_changed_evaluation():
    recorded = json.loads(golden_numbers.RECORDED.read_text())["eval"]
    # what another BLAS does: a few units in the last place, and a zero std that comes out as rounding
    rounded = {"inception_score_mean": recorded["inception_score_mean"] * (1 + 4e-16),
               "inception_score_std": 0.0, "fid": recorded["fid"] * (1 + 1e-11)}
    assert golden_numbers.changed_scores(rounded, recorded) == []
    # what a changed evaluation does: the FID off by a thousandth
    changed = {**recorded, "fid": recorded["fid"] * (1 + 1e-3)}
    assert [line.split(":")[0] for line in golden_numbers.changed_scores(changed, recorded)] == ["fid"]
