import os
import pickle

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.training.checkpoint import (find_resumable, load_checkpoint_file, rng_state, save_checkpoint,
                                           set_rng_state)


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
    with pytest.raises(SnganError, match="could not write .*last.pt: no space left on device"):
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


def test_the_config_is_saved_as_plain_values(tmp_path):
    """Closed choices (Enum members in the composed config) are stored by name: a checkpoint holds
    only what torch.load(weights_only=True) reads."""
    from sngan_cli.models.latent import ZDistribution

    save_checkpoint({"step": 1, "G": {}, "D": {}, "config": {"arch": {"z_distribution": ZDistribution.uniform}}},
                    str(tmp_path))
    config = load_checkpoint_file(str(tmp_path / "last.pt"))["config"]
    assert config == {"arch": {"z_distribution": "uniform"}} and type(config["arch"]["z_distribution"]) is str


def test_an_unreadable_last_with_no_readable_previous_refuses_to_start(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"a checkpoint from a newer torch")
    with pytest.raises(SnganError, match=r"last\.pt cannot be read.*no readable checkpoint.*move .*last\.pt"):
        find_resumable(str(tmp_path), quarantine=True)
    assert (tmp_path / "last.pt").read_bytes() == b"a checkpoint from a newer torch"


def test_a_run_with_an_unreadable_checkpoint_refuses_and_never_overwrites_it(tmp_path, tiny_cfg):
    from sngan_cli.training.loop import train

    ckpt_dir = tmp_path / "run" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "last.pt").write_bytes(b"\x00" * 64)
    with pytest.raises(SnganError, match="no readable checkpoint"):
        train(tiny_cfg("train.steps=1"), str(tmp_path / "run"))
    assert (ckpt_dir / "last.pt").read_bytes() == b"\x00" * 64
    assert sorted(os.listdir(ckpt_dir)) == ["last.pt"]


def test_after_a_fallback_the_unreadable_last_is_quarantined_and_previous_kept(tmp_path):
    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))
    save_checkpoint({"step": 2, "G": {}, "D": {}}, str(tmp_path))
    (tmp_path / "last.pt").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match=r"last\.pt\.unreadable"):
        assert find_resumable(str(tmp_path), quarantine=True)["step"] == 1
    save_checkpoint({"step": 3, "G": {}, "D": {}}, str(tmp_path))  # the next checkpoint of the resumed run
    assert load_checkpoint_file(str(tmp_path / "previous.pt"))["step"] == 1  # the good backup survives
    assert load_checkpoint_file(str(tmp_path / "last.pt"))["step"] == 3
    assert (tmp_path / "last.pt.unreadable").read_bytes() == b"truncated"


def test_a_zero_byte_last_falls_back_to_previous(tmp_path):
    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))
    save_checkpoint({"step": 2, "G": {}, "D": {}}, str(tmp_path))
    (tmp_path / "last.pt").write_bytes(b"")
    with pytest.warns(UserWarning, match="empty or truncated"):
        assert find_resumable(str(tmp_path))["step"] == 1


def test_the_weights_only_refusal_does_not_advise_turning_it_off(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "G": Evil(), "D": {}}, str(path), pickle_module=pickle)
    with pytest.raises(SnganError) as error:
        load_checkpoint_file(str(path))
    message = str(error.value)
    assert "never runs code" in message and "posix.system" in message
    assert "set to `False`" not in message and "Re-running" not in message and "PyTorch 2.6" not in message


class _DiskFillsUp:
    """A file on a disk that fills up after ``room`` bytes: the write fails as the kernel's does."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(28, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_a_full_disk_during_a_checkpoint_says_so_and_names_the_file(tmp_path, monkeypatch):
    from sngan_cli import atomic

    save_checkpoint({"step": 1, "G": {}, "D": {}}, str(tmp_path))
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: _DiskFillsUp(real_fdopen(fd, mode), 300))
    with pytest.raises(SnganError, match=r"could not write .*last\.pt: no space left on device"):
        save_checkpoint({"step": 2, "G": {"w": torch.zeros(10_000)}, "D": {}}, str(tmp_path))
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]
    assert load_checkpoint_file(str(tmp_path / "last.pt"))["step"] == 1


# the arch keys a checkpoint of the version before per-architecture keys saved beside its own
# architecture's: every other architecture's too, at their defaults
OLD_ARCH = {"cnn": {"d_channels": "downsample", "d_slope": 0.2, "g_dense_bn": "units", "d_first_norm": False},
            "resnet": {"d_hidden": "input", "residual_gain": 1.4142135623730951, "d_pool": "sum",
                       "d_fc_bias": False}}


@pytest.mark.parametrize("arch", ["cnn", "resnet"])
def test_a_checkpoint_of_an_older_version_with_every_architecture_s_keys_loads_and_resumes(arch, tmp_path):
    """Before each architecture had its own keys, a checkpoint saved all of them under ``arch``: the
    loaders keep those the architecture has, and a resume compares only those."""
    from sngan_cli.trained import load_discriminator, load_generator
    from sngan_cli.training.loop import train
    from tests.conftest import TINY, compose_train

    cfg = lambda *extra: compose_train(TINY + [f"arch={arch}", "train.ckpt_every=1", "train.sample_every=1", *extra])
    train(cfg("train.steps=1"), str(tmp_path))
    last = tmp_path / "checkpoints" / "last.pt"
    ckpt = torch.load(last, weights_only=True)
    others = {key: value for name, keys in OLD_ARCH.items() if name != arch for key, value in keys.items()}
    ckpt["config"]["arch"] = {**others, **ckpt["config"]["arch"]}
    torch.save(ckpt, last)
    G = load_generator(str(last), torch.device("cpu")).G
    assert all(torch.equal(G.state_dict()[k], v) for k, v in ckpt["G"].items())
    D, _, _ = load_discriminator(str(last), torch.device("cpu"))
    assert all(torch.equal(D.state_dict()[k], v) for k, v in ckpt["D"].items())
    train(cfg("train.steps=2"), str(tmp_path))
    assert torch.load(last, weights_only=True)["step"] == 2
