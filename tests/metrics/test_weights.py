"""Where the Inception weights come from, and the one error a user sees when they cannot be had."""
from __future__ import annotations

import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from sngan_cli import SnganError
from sngan_cli.metrics import WeightsUnavailable, build_detector
from sngan_cli.metrics import tf_inception
from sngan_cli.metrics.cache import file_sha256
from sngan_cli.metrics.tf_inception import (
    WEIGHTS_ENV_VAR,
    WEIGHTS_FILENAME,
    WEIGHTS_SHA256_PREFIX,
    WEIGHTS_URL,
    hub_cache_path,
    load_tf_inception,
    resolve_weights,
)


@pytest.fixture(autouse=True)
def isolated_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub directory, no environment override, and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)

    def offline(url: str, dst: str, *args, **kwargs) -> None:
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path / "torch" / "hub"


def _assert_helpful(error: WeightsUnavailable) -> None:
    message = str(error)
    assert isinstance(error, SnganError)
    assert "\n" not in message
    ways = ("eval.inception_weights=PATH", f"{WEIGHTS_ENV_VAR}=PATH", str(hub_cache_path()))
    for part in (WEIGHTS_URL, WEIGHTS_SHA256_PREFIX, *ways):
        assert part in message


def test_the_file_name_carries_the_hash_prefix_and_the_url_names_the_file() -> None:
    assert f"-{WEIGHTS_SHA256_PREFIX}." in WEIGHTS_FILENAME
    assert WEIGHTS_URL.endswith("/" + WEIGHTS_FILENAME)
    assert hub_cache_path().name == WEIGHTS_FILENAME


def test_nothing_available_offline_raises_one_helpful_error(isolated_hub: Path) -> None:
    assert hub_cache_path().parent.parent == isolated_hub
    with pytest.raises(WeightsUnavailable) as info:
        resolve_weights()
    _assert_helpful(info.value)
    assert "network is unreachable" in str(info.value)
    assert not any(hub_cache_path().parent.iterdir())  # no partial download left


def test_missing_explicit_path_raises(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match="eval.inception_weights=") as info:
        resolve_weights(tmp_path / "nope.pth")
    _assert_helpful(info.value)


def test_missing_environment_path_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsUnavailable, match=WEIGHTS_ENV_VAR):
        resolve_weights()


def test_explicit_path_loads_and_records_its_hash(inception_layout_weights: Path) -> None:
    network, sha256 = load_tf_inception(inception_layout_weights)
    assert sha256 == file_sha256(inception_layout_weights)
    assert torch.equal(network.fc.weight, torch.load(inception_layout_weights, weights_only=True)["fc.weight"])


def test_explicit_path_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env = tmp_path / "explicit.pth", tmp_path / "env.pth"
    explicit.write_bytes(b"a")
    env.write_bytes(b"b")
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(env))
    assert resolve_weights(explicit)[0] == explicit
    assert resolve_weights()[0] == env


def test_environment_variable_works(inception_layout_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(inception_layout_weights))
    detector = build_detector("inception")
    assert detector.weights_sha256 == file_sha256(inception_layout_weights)
    assert detector.name == "inception" and detector.feature_dim == 2048 and detector.num_classes == 1008


def test_hub_cache_file_with_a_wrong_hash_is_rejected(inception_layout_weights: Path) -> None:
    hub_cache_path().parent.mkdir(parents=True)
    shutil.copy(inception_layout_weights, hub_cache_path())
    with pytest.raises(WeightsUnavailable, match="does not start with 6726825d") as info:
        resolve_weights()
    _assert_helpful(info.value)


def test_hub_cache_file_with_the_right_hash_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub_cache_path().parent.mkdir(parents=True)
    hub_cache_path().write_bytes(b"stand-in weights")
    sha256 = file_sha256(hub_cache_path())
    monkeypatch.setattr(tf_inception, "WEIGHTS_SHA256_PREFIX", sha256[:8])
    assert resolve_weights() == (hub_cache_path(), sha256)


def test_download_is_verified_then_moved_into_the_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"downloaded weights"
    source = tmp_path / "server.pth"
    source.write_bytes(payload)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, **_: shutil.copy(source, dst))

    with pytest.raises(WeightsUnavailable, match="downloaded file has SHA-256"):
        resolve_weights()
    assert not any(hub_cache_path().parent.iterdir())

    monkeypatch.setattr(tf_inception, "WEIGHTS_SHA256_PREFIX", file_sha256(source)[:8])
    path, sha256 = resolve_weights()
    assert path == hub_cache_path() and path.read_bytes() == payload and sha256 == file_sha256(source)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_file_that_is_not_a_state_dict_is_reported(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailable, match="not a pt_inception state dict") as info:
        load_tf_inception(garbage)
    _assert_helpful(info.value)


def test_a_state_dict_of_another_network_is_reported(tmp_path: Path) -> None:
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(WeightsUnavailable, match="not a pt_inception state dict") as info:
        load_tf_inception(other)
    _assert_helpful(info.value)  # one paragraph, though torch lists every missing key on its own line
