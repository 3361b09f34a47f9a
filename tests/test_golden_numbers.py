"""The numbers do not move when the code is reorganised: fixed-seed runs of every normalizer on both
architectures end with the recorded weights, bit for bit, and ``sngan eval`` gives the recorded
scores (tests/golden_numbers.py says how the runs are made machine-independent).

A change that is meant to change the numbers records new digests with
``python tests/golden_numbers.py > tests/data/golden_numbers.json`` and says why in its commit."""
from __future__ import annotations

import json

import pytest

from tests import golden_numbers

pytestmark = pytest.mark.slow


def test_every_normalizer_and_eval_give_the_recorded_numbers(tmp_path):
    recorded = json.loads(golden_numbers.RECORDED.read_text())
    measured = golden_numbers.measure(tmp_path)
    assert sorted(measured) == sorted(recorded), "a normalizer or architecture was added or removed: record anew"
    changed = [name for name in recorded if measured[name] != recorded[name]]
    assert not changed, f"numbers changed for {', '.join(changed)}"


def test_the_digest_sees_a_one_ulp_change(tmp_path):
    import torch

    path = tmp_path / "last.pt"
    state = {"G": {"w": torch.ones(3)}, "D": {"w": torch.ones(2)}}
    torch.save(state, path)
    before = golden_numbers.weights_digest(path)
    state["D"]["w"][1] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))
    torch.save(state, path)
    assert golden_numbers.weights_digest(path) != before
