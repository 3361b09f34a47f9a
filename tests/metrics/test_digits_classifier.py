"""The offline `digits-classifier` detector: accurate, deterministic, cached."""
from __future__ import annotations

import io
import json
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from sngan_cli import SnganError, cli
from sngan_cli.metrics import build_detector, digits_classifier
from sngan_cli.metrics.cache import file_sha256
from sngan_cli.metrics.detector import Detector
from sngan_cli.data.digits import render_digits
from sngan_cli.metrics.digits_classifier import (
    cached_weights_path,
    load_digits_split,
    train_digits_classifier,
)
from tests.conftest import read_only


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_holdout_accuracy(digits_detector: Detector, resolution: int) -> None:
    images, labels = load_digits_split("holdout")
    features, logits = digits_detector.features_and_logits(render_digits(images, resolution))
    assert features.shape == (len(labels), digits_classifier.FEATURE_DIM)
    accuracy = (logits.argmax(dim=1).numpy() == labels).mean()
    assert accuracy >= 0.9


def test_splits_are_fixed_and_partition_the_digits() -> None:
    (train, train_labels), (holdout, holdout_labels) = load_digits_split("train"), load_digits_split("holdout")
    assert len(train) + len(holdout) == 1797
    assert len(holdout) == round(0.2 * 1797)
    assert set(train_labels) == set(holdout_labels) == set(range(10))
    np.testing.assert_array_equal(load_digits_split("holdout")[0], holdout)


def test_cache_is_reused(digits_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*_, **__):
        raise AssertionError("the cached weights should have been used")

    monkeypatch.setattr(digits_classifier, "train_digits_classifier", no_training)
    detector = build_detector("digits-classifier", cache_dir=digits_cache)
    path = cached_weights_path(digits_cache)
    assert detector.name == "digits-classifier"
    assert detector.weights_sha256 == file_sha256(path)
    assert [p.name for p in digits_cache.iterdir()] == [path.name]  # no temporary files left


@pytest.mark.parametrize("change", [("EPOCHS", 9), ("VERSION", "v0"), ("TRAIN_SEED", 1)])
def test_the_cache_file_is_named_by_the_recipe(change, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cached_weights_path("cache")
    monkeypatch.setattr(digits_classifier, *change)
    assert cached_weights_path("cache") != before
    monkeypatch.undo()
    monkeypatch.setattr(torch, "__version__", "0.0.0")  # another torch may train other weights
    assert cached_weights_path("cache") != before


def test_explicit_weights_path_is_used(digits_cache: Path, tmp_path: Path) -> None:
    detector = build_detector("digits-classifier", weights_path=cached_weights_path(digits_cache), cache_dir=tmp_path)
    assert detector.weights_sha256 == file_sha256(cached_weights_path(digits_cache))
    assert not any(tmp_path.iterdir())


def test_training_is_deterministic_and_leaves_the_global_state_alone(digits_cache: Path) -> None:
    cached = torch.load(cached_weights_path(digits_cache), weights_only=True)["state_dict"]
    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    retrained = train_digits_classifier().state_dict()
    assert torch.equal(torch.random.get_rng_state(), rng) and torch.get_num_threads() == threads
    assert cached.keys() == retrained.keys()
    assert all(torch.equal(cached[k], retrained[k]) for k in cached)


# --- a cache file that is not what it claims is named in one warning and rebuilt -------------------


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _perturbed(fresh: bytes, plain: bool) -> bytes:
    """The fresh cache with the feature layer's biases moved by 1e-3: in its own layout, or as a bare
    state dict."""
    obj = torch.load(io.BytesIO(fresh), weights_only=True)
    state = obj.get("state_dict", obj)
    state["conv.7.bias"] += 1e-3
    return _torch_bytes(state if plain else obj)


def _record_with(fresh: bytes, **changes) -> bytes:
    """The fresh cache record with some of its entries replaced."""
    obj = torch.load(io.BytesIO(fresh), weights_only=True)
    return _torch_bytes({**obj, **changes})


def _other_shapes() -> dict:
    return nn.Linear(3, 4).state_dict()


BAD_CACHES = {
    "empty": lambda fresh: b"",
    "junk": lambda fresh: random.Random(1).randbytes(4096),
    "truncated": lambda fresh: fresh[: len(fresh) // 2],
    "png": lambda fresh: _png_bytes(),
    "json": lambda fresh: json.dumps({"state_dict": {}, "weights_sha256": "0" * 64}).encode(),
    "other-shapes": lambda fresh: _torch_bytes(_other_shapes()),
    "other-shapes-record": lambda fresh: _record_with(fresh, state_dict=_other_shapes(),
                                                      weights_sha256=digits_classifier.weights_sha256(_other_shapes())),
    "other-recipe": lambda fresh: _record_with(fresh, recipe="{}"),
    "perturbed": lambda fresh: _perturbed(fresh, plain=False),
    "perturbed-bare-state-dict": lambda fresh: _perturbed(fresh, plain=True),
}


@pytest.fixture
def trainer(digits_cache: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    """Training replaced by a copy of the session's classifier (what a training gives: see
    test_training_is_deterministic...); the list counts the trainings."""
    good = digits_classifier.load_digits_classifier(cache_dir=digits_cache)[0].state_dict()
    calls = []

    def train(*_, **__):
        calls.append(1)
        net = digits_classifier.DigitsNet()
        net.load_state_dict(good)
        return net.eval()

    monkeypatch.setattr(digits_classifier, "train_digits_classifier", train)
    return calls


def _load_recording_warnings(cache_dir: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net, sha256 = digits_classifier.load_digits_classifier(cache_dir=cache_dir)
    return net, sha256, [str(w.message) for w in caught]


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("kind", sorted(BAD_CACHES))
def test_a_bad_cache_file_is_named_in_one_warning_and_rebuilt(kind, digits_cache, trainer, tmp_path) -> None:
    fresh_path = cached_weights_path(digits_cache)
    fresh = fresh_path.read_bytes()
    path = cached_weights_path(tmp_path)
    path.write_bytes(BAD_CACHES[kind](fresh))

    net, sha256, messages = _load_recording_warnings(tmp_path)
    assert len(messages) == 1 and str(path) in messages[0], messages
    assert "\n" not in messages[0]
    assert trainer == [1]
    assert _same_weights(net, digits_classifier.load_digits_classifier(cache_dir=digits_cache)[0])
    assert path.read_bytes() == fresh and sha256 == file_sha256(fresh_path)  # as a fresh cache
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # replaced atomically: no temp file left

    net, sha256, messages = _load_recording_warnings(tmp_path)  # the rebuilt file is used as it is
    assert messages == [] and trainer == [1] and sha256 == file_sha256(fresh_path)


@pytest.mark.parametrize("kind", ["missing", "empty", "junk", "other-shapes", "perturbed"])
def test_a_bad_weights_file_given_by_path_is_refused_in_one_line_naming_it(kind, digits_cache, tmp_path) -> None:
    path = tmp_path / "my weights.pt"
    if kind != "missing":
        path.write_bytes(BAD_CACHES[kind](cached_weights_path(digits_cache).read_bytes()))
    with pytest.raises(SnganError) as error:
        build_detector("digits-classifier", weights_path=path, cache_dir=tmp_path / "cache")
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "cache").exists()


def test_a_bare_state_dict_given_by_path_is_used(digits_cache, tmp_path) -> None:
    path = tmp_path / "bare.pt"
    net = digits_classifier.load_digits_classifier(cache_dir=digits_cache)[0]
    torch.save(net.state_dict(), path)
    detector = build_detector("digits-classifier", weights_path=path)
    assert detector.weights_sha256 == file_sha256(path)
    assert _same_weights(digits_classifier.load_digits_classifier(path)[0], net)


def test_a_directory_in_place_of_the_cache_file_is_named_and_the_classifier_built_in_memory(
        digits_cache, trainer, tmp_path) -> None:
    path = cached_weights_path(tmp_path)
    path.mkdir()
    net, sha256, messages = _load_recording_warnings(tmp_path)
    assert len(messages) == 1 and str(path) in messages[0], messages
    assert _same_weights(net, digits_classifier.load_digits_classifier(cache_dir=digits_cache)[0])
    assert sha256 == file_sha256(cached_weights_path(digits_cache))
    assert path.is_dir()


@pytest.mark.parametrize("kind", ["missing", "perturbed"])
def test_a_read_only_cache_folder_gives_the_classifier_built_in_memory_and_one_warning(
        kind, digits_cache, trainer, tmp_path) -> None:
    fresh_path = cached_weights_path(digits_cache)
    cache = tmp_path / "read-only cache"
    cache.mkdir()
    if kind == "perturbed":
        cached_weights_path(cache).write_bytes(_perturbed(fresh_path.read_bytes(), plain=False))
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    with read_only(cache):
        net, sha256, messages = _load_recording_warnings(cache)
    assert len(messages) == 1 and str(cache) in messages[0], messages
    assert trainer == [1]
    assert _same_weights(net, digits_classifier.load_digits_classifier(cache_dir=digits_cache)[0])
    assert sha256 == file_sha256(fresh_path)  # the weights a fresh cache would hold, and their record
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before


def test_a_perturbed_cache_gives_the_features_of_a_fresh_one(digits_cache, tmp_path) -> None:
    """With the real training: a rebuilt classifier is the one a fresh cache holds, bit for bit."""
    path = cached_weights_path(tmp_path)
    path.write_bytes(_perturbed(cached_weights_path(digits_cache).read_bytes(), plain=False))
    images = render_digits(load_digits_split("holdout")[0][:64], 16)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        rebuilt = build_detector("digits-classifier", cache_dir=tmp_path).features_and_logits(images)
    fresh = build_detector("digits-classifier", cache_dir=digits_cache).features_and_logits(images)
    assert all(torch.equal(a, b) for a, b in zip(rebuilt, fresh))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["perturbed", "truncated", "empty"])
def test_sngan_eval_with_a_bad_classifier_cache_names_it_and_gives_a_fresh_caches_fid(
        kind, digits_cache, tmp_path, capsys, monkeypatch) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i, image in enumerate(render_digits(load_digits_split("holdout")[0][:20], 16)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(images / f"{i:02d}.png")
    args = ["eval", f"images={images}", "reference=digits", "resolution=16", "detector=digits-classifier",
            "device=cpu"]

    def fid(cache_home: Path) -> tuple[float, str]:
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
        capsys.readouterr()
        cli.main(args)  # exit 0: no SystemExit
        out = capsys.readouterr()
        return json.loads(out.out)["fid"], out.err

    fresh_home = tmp_path / "fresh"
    shutil.copytree(digits_cache, fresh_home / "sngan")
    expected, fresh_err = fid(fresh_home)

    bad_home = tmp_path / "bad"
    bad = cached_weights_path(bad_home / "sngan")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(BAD_CACHES[kind](cached_weights_path(digits_cache).read_bytes()))
    measured, err = fid(bad_home)
    lines = [line for line in err.splitlines() if line.strip() and line not in fresh_err.splitlines()]
    assert "Traceback" not in err and len(lines) == 1 and str(bad) in lines[0], err  # beside a fresh run's
    assert measured == expected
