import os
import pickle

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.training.checkpoint import (config_differences, find_resumable, load_checkpoint_file, rng_state,
                                           save_checkpoint, set_rng_state)


def test_save_keeps_previous_and_loads_weights_only(tmp_path):
    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))
    save_checkpoint({"step": 2, "G": {}, "D": {}}, str(tmp_path))
    assert load_checkpoint_file(str(tmp_path / "last.pt"))["step"] == 2
    assert load_checkpoint_file(str(tmp_path / "previous.pt"))["step"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "previous.pt"]


def test_failed_write_leaves_nothing_partial(tmp_path, monkeypatch):
    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))

    def fail(obj, f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(SnganError, match="could not write .*last.pt: No space left on device"):
        save_checkpoint({"step": 2, "G": {}, "D": {}}, str(tmp_path))
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]
    assert load_checkpoint_file(str(tmp_path / "last.pt"))["step"] == 1


def test_corrupt_last_falls_back_to_previous(tmp_path):
    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))
    save_checkpoint({"step": 2, "G": {}, "D": {}}, str(tmp_path))
    (tmp_path / "last.pt").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="last.pt"):
        assert find_resumable(str(tmp_path))["step"] == 1


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_code_in_a_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "G": Evil(), "D": {}}, str(path), pickle_module=pickle)
    with pytest.raises(SnganError, match="cannot be read safely"):
        load_checkpoint_file(str(path))


def test_rng_state_round_trip():
    state = rng_state()
    a = torch.rand(3)
    set_rng_state(state)
    assert torch.equal(a, torch.rand(3))


def test_config_differences():
    saved = {"train": {"steps": 10, "batch_size": 64}, "norm": {"name": "spectral"}}
    now = {"train": {"steps": 20, "batch_size": 32}, "norm": {"name": "spectral"}}
    assert config_differences(saved, now, ignore=("train.steps",)) == ["train.batch_size: 64 -> 32"]
