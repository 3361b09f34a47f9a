"""``sngan stats dataset=NAME``: precompute (and cache) a dataset's real-image statistics for FID,
so that later evaluations on a cluster node without the dataset, or without time, reuse them.

The dataset is the one ``sngan train dataset=NAME`` composes (its resolution, split, root, ...,
unless given here), and the statistics are cached under a key made from that config alone
(metrics/reference.py), which is what an evaluation of such a run looks up before it would read the
dataset."""
from __future__ import annotations

from typing import List

from sngan_cli.commands.options import Option, boolean, choice, help_requested, integer, parse_options, text, usage
from sngan_cli.data import check_has_value
from sngan_cli.device import COMMAND_DEVICES, resolve_device
from sngan_cli.metrics import PROTOCOLS, build_detector, get_protocol
from sngan_cli.metrics.reference import dataset_config, dataset_names, dataset_reference
from sngan_cli.metrics.registry import CHOICES as DETECTOR_CHOICES

SUMMARY = ("Precompute (and cache) a dataset's real-image statistics for FID (dataset=NAME, as sngan train composes\n"
           "it), so that later evaluations reuse them on a node without the dataset.")
OPTIONS = {
    "dataset": Option(choice(*dataset_names()), required=True, help="the dataset"),
    "dataset.root": Option(text, help="where the dataset lives (default: its config's, data or data/imagenet)"),
    "dataset.resolution": Option(integer(8), help="default: the dataset's training resolution"),
    "dataset.download": Option(boolean, help="download when missing and online (default: its config's)"),
    "protocol": Option(choice(*PROTOCOLS), "paper", "how many real images (paper: 10,000; standard: all)"),
    "detector": Option(choice(*DETECTOR_CHOICES), "auto", "auto: digits-classifier for digits"),
    "inception_weights": Option(text, help="pt_inception-2015-12-05-6726825d.pth (or env SNGAN_INCEPTION_WEIGHTS)"),
    "eval.inception_weights": Option(text, help="same as inception_weights= (the name sngan train uses)"),
    "device": Option(choice(*COMMAND_DEVICES), "auto", "where the detector runs"),
    "features": Option(boolean, False, "also cache the real features that metrics=kid,pr,dc compare with"),
}


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("stats", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    name = o["dataset"]
    dataset = dataset_config(name, root=o["dataset.root"], resolution=o["dataset.resolution"],
                             download=o["dataset.download"])
    check_has_value(dataset.get("root"))  # before the detector, whose weights may need a download
    detector = build_detector(o["detector"], dataset=name, inception_weights=o["inception_weights"]
                              or o["eval.inception_weights"], device=resolve_device(o["device"]))
    stats = dataset_reference(detector, dataset, get_protocol(o["protocol"]), with_features=o["features"])
    print(f"{stats.record['source']}: {stats.record['n_samples']} images of {name} at {dataset['resolution']} px, "
          f"detector {detector.name} ({detector.weights_sha256[:12]}){', with their features' if o['features'] else ''}")
