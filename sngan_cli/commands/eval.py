"""``sngan eval``: Inception Score and FID, TensorFlow-compatible (paper Sec. 4, Appendix B.1; the
scoring itself is metrics/evaluate.py's, shared with the evaluations during training).

- ``sngan eval ckpt=PATH`` or ``run=DIR``: generate with the checkpoint's G (the images ``sngan sample``
  writes for the same seed), score against the run's dataset and print the result. A checkpoint in
  a run directory's ``checkpoints/`` writes ``eval.json`` into that run directory and logs
  ``metrics/IS`` and ``metrics/FID`` to its TensorBoard events; any other checkpoint ``NAME.pt``
  writes ``NAME.eval.json`` beside it. An existing result is replaced only with ``overwrite=true``.
- ``sngan eval images=DIR reference=DIR|FILE.npz|DATASET``: score a folder of images; print the JSON.
"""
from __future__ import annotations

import json
import os
from typing import List

from sngan_cli import SnganError
from sngan_cli.atomic import write_json
from sngan_cli.commands.options import (Option, boolean, choice, help_requested, integer, parse_options, text,
                                        usage)
from sngan_cli.data.folder import folder_batches, list_images
from sngan_cli.metrics import PROTOCOLS, build_detector, get_protocol, scalars, score
from sngan_cli.metrics.evaluate import PAPER_METRICS, SAMPLE_METRICS, needs_real_features, parse_metrics
from sngan_cli.metrics.reference import dataset_reference, reference_from_argument
from sngan_cli.metrics.registry import CHOICES as DETECTOR_CHOICES
from sngan_cli.reporting.runs import is_run_dir
from sngan_cli.run_dir import CHECKPOINTS, EVAL_EMA
from sngan_cli.run_dir import EVAL as RESULT
from sngan_cli.device import COMMAND_DEVICES, resolve_device
from sngan_cli.training.periodic_eval import keep_best, read_summary
from sngan_cli.trained import GENERATORS, checkpoint_path, generate, load_generator

SUMMARY = ("Score a checkpoint (ckpt=PATH or run=DIR; writes eval.json into the run directory, or NAME.eval.json\n"
           "beside a checkpoint NAME.pt outside a run) or a folder of images (images=DIR with\n"
           "reference=DIR|FILE.npz|DATASET; prints the JSON).")
OPTIONS = {
    "ckpt": Option(text, help="checkpoint file"),
    "run": Option(text, help="run directory: uses DIR/checkpoints/last.pt"),
    "images": Option(text, help="a folder of PNG/JPEG images to score"),
    "reference": Option(text, help="with images=: a folder, a .npz with mu/sigma, or a dataset name"),
    "protocol": Option(choice(*PROTOCOLS), "paper",
                       "paper: IS on 50,000 in 10 splits of 5,000, FID 10,000 real vs the first 5,000 generated; "
                       "standard: 50,000 generated vs the whole training set"),
    "n": Option(integer(2), help="generated images, overriding the protocol's count"),
    "detector": Option(choice(*DETECTOR_CHOICES), "auto",
                       "auto: digits-classifier for digits, else the TF Inception"),
    "inception_weights": Option(text, help="pt_inception-2015-12-05-6726825d.pth (or env SNGAN_INCEPTION_WEIGHTS)"),
    "eval.inception_weights": Option(text, help="same as inception_weights="),
    "resolution": Option(integer(8), 32, "with images= and a dataset reference: its resolution"),
    "dataset.root": Option(text, help="where the reference dataset lives (default: the run's, else the "
                                      "dataset config's: data, or data/imagenet)"),
    "seed": Option(integer(0), 0, "seed of the latent draw (as in sngan sample)"),
    "batch_size": Option(integer(1), 250, "images per forward pass (does not change the numbers)"),
    "device": Option(choice(*COMMAND_DEVICES), "auto", "where G and the detector run"),
    "overwrite": Option(boolean, False, "replace an existing eval.json (or NAME.eval.json)"),
    "metrics": Option(parse_metrics, PAPER_METRICS,
                      f"beyond the paper's IS and FID (always computed), comma-separated: {', '.join(SAMPLE_METRICS)} "
                      f"(KID; precision/recall; density/coverage)"),
    "g": Option(choice(*GENERATORS), "G", "G, or ema: G's moving average (a run trained with train.ema=true); "
                                          "its result goes to eval_ema.json"),
}


def result_location(path: str, g: str = "G"):
    """(result file, TensorBoard directory or None) of an evaluation of the checkpoint ``path``: the
    run directory when the checkpoint is in the ``checkpoints/`` of a run (a directory the report
    reads as one: reporting/runs.py's is_run_dir), else ``NAME.eval.json`` beside ``NAME.pt`` and no
    events. G's moving average (``g=ema``) writes ``eval_ema.json`` (``NAME.eval_ema.json``)."""
    result = RESULT if g == "G" else EVAL_EMA
    folder = os.path.dirname(os.path.abspath(path))
    run_dir = os.path.dirname(folder)
    if os.path.basename(folder) == CHECKPOINTS and is_run_dir(run_dir):
        return os.path.join(run_dir, result), run_dir
    return os.path.join(folder, f"{os.path.splitext(os.path.basename(path))[0]}.{result}"), None


def check_count(n: int, key: str, value: str, splits: int) -> None:
    if n < splits:
        raise SnganError(f"{key}={value} gives {n} image(s): the Inception Score needs at least {splits}, "
                         f"one per split")


def with_digits_hint(make):
    """The detector, or the missing-weights error with the offline alternative for digit images."""
    from sngan_cli.metrics import WeightsUnavailable

    try:
        return make()
    except WeightsUnavailable as e:
        raise SnganError(f"{e} For digit images, detector=digits-classifier needs no download.") from None


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("eval", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    weights = o["inception_weights"] or o["eval.inception_weights"]
    device = resolve_device(o["device"])
    protocol = get_protocol(o["protocol"])
    if o["images"]:
        if o["ckpt"] or o["run"]:
            raise SnganError("give either images=DIR or ckpt=/run=, not both")
        if not o["reference"]:
            raise SnganError("images=DIR needs reference=DIR|FILE.npz|DATASET")
        if o["n"] is not None:
            check_count(o["n"], "n", str(o["n"]), protocol.is_splits)
        n_files = len(list_images(o["images"], option="images"))
        if o["n"] is None:
            check_count(n_files, "images", o["images"], protocol.is_splits)
        detector = with_digits_hint(lambda: build_detector(o["detector"], dataset=o["reference"],
                                                           inception_weights=weights, device=device))
        reference = reference_from_argument(o["reference"], detector, protocol, o["resolution"], o["dataset.root"],
                                            with_features=needs_real_features(o["metrics"]))
        n = o["n"] or sum(len(b) for b in folder_batches(o["images"]))
        if o["n"] is None:
            check_count(n, "images", f"{o['images']} (readable files)", protocol.is_splits)
        result = score(detector, lambda: folder_batches(o["images"]), reference, protocol, n, metrics=o["metrics"],
                       images=os.path.abspath(o["images"]))
        print(json.dumps(result, indent=2))
        return

    path = checkpoint_path(o["ckpt"], o["run"])
    if o["n"] is not None:
        check_count(o["n"], "n", str(o["n"]), protocol.is_splits)
    out, events = result_location(path, o["g"])
    if os.path.exists(out) and not o["overwrite"]:
        raise SnganError(f"{out} exists (an earlier evaluation); add overwrite=true to replace it")
    tg = load_generator(path, device, o["g"])
    dataset = {**tg.config["dataset"], "root": o["dataset.root"] or tg.config["dataset"]["root"]}
    detector = build_detector(o["detector"], dataset=dataset["name"], inception_weights=weights, device=device)
    reference = dataset_reference(detector, dataset, protocol, with_features=needs_real_features(o["metrics"]))
    n = o["n"] or protocol.n_generated
    images = lambda: (batch for batch, _ in generate(tg, n, o["seed"], o["batch_size"], progress=n >= 1000))
    result = score(detector, images, reference, protocol, n, step=tg.step, metrics=o["metrics"], seed=o["seed"],
                   checkpoint=os.path.abspath(path), generator=o["g"])
    print(json.dumps(result, indent=2), flush=True)  # shown even when the result cannot be written
    write_json(out, result)
    if events is not None:
        log_to_tensorboard(events, result, "" if o["g"] == "G" else f"_{o['g']}")
    print(f"wrote {out}" + (f" and TensorBoard events in {events}" if events else ""))


def log_to_tensorboard(run_dir: str, result: dict, suffix: str = "") -> None:
    """The result's scalars (``metrics/IS_ema`` ... for G's moving average) and, for G itself, the
    best IS and FID of the run so far (with the evaluations during training: their summary)."""
    from torch.utils.tensorboard import SummaryWriter

    values = {f"{tag}{suffix}": value for tag, value in scalars(result).items()}
    if not suffix:
        values.update(keep_best(read_summary(run_dir), result))
    with SummaryWriter(run_dir) as writer:
        for tag, value in values.items():
            if value is not None:
                writer.add_scalar(tag, value, result["step"])
