"""The real statistics (metrics/reference.py): keyed by the config alone, so what `sngan stats`
cached serves an evaluation of a run without reading the dataset."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from sngan_cli import SnganError
from sngan_cli.metrics import get_protocol
from sngan_cli.metrics import reference as reference_module
from sngan_cli.metrics.reference import dataset_config, dataset_key, dataset_names, dataset_reference
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
