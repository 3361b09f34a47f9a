"""``sngan stats dataset=NAME``: precompute (and cache) a dataset's real-image statistics for FID,
so that later evaluations on a cluster node without the dataset, or without time, reuse them."""
from __future__ import annotations

from typing import List

from sngan_cli.commands.options import Option, boolean, choice, help_requested, integer, parse_options, text, usage
from sngan_cli.evaluation import dataset_reference, detector_name, make_detector
from sngan_cli.metrics import get_protocol
from sngan_cli.metrics.stats_cache import stats_path
from sngan_cli.device import resolve_device

DEFAULT_RESOLUTION = {"stl10": 48, "imagenet": 128}
OPTIONS = {
    "dataset": Option(choice("cifar10", "stl10", "svhn", "imagenet", "folder", "digits"), required=True,
                      help="the dataset"),
    "dataset.root": Option(text, "data", "where the dataset lives"),
    "dataset.resolution": Option(integer(8), help="default: the dataset's training resolution"),
    "dataset.download": Option(boolean, True, "download when missing and online"),
    "protocol": Option(choice("paper", "standard"), "paper", "how many real images (paper: 10,000; standard: all)"),
    "detector": Option(choice("auto", "inception", "digits-classifier"), "auto", "auto: digits-classifier for digits"),
    "inception_weights": Option(text, help="pt_inception-2015-12-05-6726825d.pth (or env SNGAN_INCEPTION_WEIGHTS)"),
    "eval.inception_weights": Option(text, help="same as inception_weights= (the name sngan train uses)"),
    "device": Option(choice("auto", "cpu", "cuda"), "auto", "where the detector runs"),
}


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("stats", __doc__.splitlines()[0], OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    name = o["dataset"]
    dataset = {"name": name, "root": o["dataset.root"], "download": o["dataset.download"],
               "resolution": o["dataset.resolution"] or DEFAULT_RESOLUTION.get(name, 32)}
    detector = make_detector(detector_name(name, o["detector"]), o["inception_weights"] or o["eval.inception_weights"],
                             resolve_device(o["device"]))
    stats = dataset_reference(detector, dataset, get_protocol(o["protocol"]))
    record = {k: v for k, v in stats.record.items() if k != "source"}
    print(f"{stats_path(record)}: {stats.record['n_samples']} images of {name} at {dataset['resolution']} px, "
          f"detector {detector.name} ({detector.weights_sha256[:12]})")
