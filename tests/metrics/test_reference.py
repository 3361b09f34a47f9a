"""The real statistics (metrics/reference.py): keyed by the config alone, so what `sngan stats`
cached serves an evaluation of a run without reading the dataset."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from omegaconf import OmegaConf

from sngan_cli import SnganError
from sngan_cli.metrics import get_protocol
from sngan_cli.metrics import reference as reference_module
from sngan_cli.metrics.reference import dataset_config, dataset_key, dataset_names, dataset_reference
from sngan_cli.metrics.stats_cache import features_path
from tests.conftest import TINY, compose_train

DETECTOR = SimpleNamespace(name="inception", weights_sha256="6726825d" + "0" * 56)


def test_the_datasets_are_the_config_groups():
    assert dataset_names() == ["cifar10", "digits", "folder", "imagenet", "stl10", "svhn"]
    with pytest.raises(SnganError, match="dataset=mnist is unknown: choose one of cifar10, digits"):
        dataset_config("mnist")


@pytest.mark.parametrize("name", ["cifar10", "stl10", "svhn", "imagenet", "digits"])
def test_stats_keys_what_the_evaluation_of_a_run_looks_up(name):
    """`sngan stats dataset=NAME` and a run on NAME (its resolved config) ask for the same entry."""
    run = OmegaConf.to_container(compose_train([f"dataset={name}"]).dataset)
    for protocol in ("paper", "standard"):
        assert dataset_key(DETECTOR, dataset_config(name), get_protocol(protocol)) == \
            dataset_key(DETECTOR, run, get_protocol(protocol))


def test_the_dataset_config_is_the_training_one_with_the_given_values():
    assert (dataset_config("stl10")["split"], dataset_config("stl10")["resolution"]) == ("train+unlabeled", 48)
    assert dataset_config("imagenet")["root"] == "data/imagenet"
    assert dataset_config("cifar10", root="/elsewhere", resolution=None)["root"] == "/elsewhere"


def test_cached_statistics_are_found_without_the_dataset(monkeypatch, digits_detector):
    dataset = OmegaConf.to_container(compose_train(TINY).dataset)
    first = dataset_reference(digits_detector, dataset, get_protocol("paper"))
    assert first.record["n_samples"] == 1797  # what computing learned, beside the key

    def no_dataset(*_, **__):
        raise AssertionError("the dataset was read although its statistics are cached")

    monkeypatch.setattr(reference_module, "load_dataset", no_dataset)
    again = dataset_reference(digits_detector, {**dataset, "root": "/no/such/root"}, get_protocol("paper"))
    assert again.record == first.record and (again.mu == first.mu).all()


def test_features_computed_after_the_statistics_match_them_and_replaced_ones_are_refused(monkeypatch, tmp_path,
                                                                                         digits_detector):
    """`sngan stats` caches the statistics alone; the first KID computes the features in a second pass,
    which agree with them (no false refusal); features replaced later are refused, naming the file."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    dataset, paper = OmegaConf.to_container(compose_train(TINY).dataset), get_protocol("paper")
    stats = dataset_reference(digits_detector, dataset, paper)
    assert not features_path(dataset_key(digits_detector, dataset, paper)).exists()
    with_features = dataset_reference(digits_detector, dataset, paper, with_features=True)
    assert with_features.features.shape == (1797, digits_detector.feature_dim)
    assert (with_features.mu == stats.mu).all()  # the statistics stay those earlier FIDs used
    feature_file = features_path(dataset_key(digits_detector, dataset, paper))
    np.save(feature_file, np.random.default_rng(0).normal(size=with_features.features.shape).astype(np.float32))
    with pytest.raises(SnganError, match=f"cached real features {feature_file} do not match"):
        dataset_reference(digits_detector, dataset, paper, with_features=True)
