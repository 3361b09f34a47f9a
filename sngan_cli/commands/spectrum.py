"""``sngan spectrum ckpt=PATH`` (or ``run=DIR``): the singular values of every effective weight of a
trained D (Figure 3), written beside the checkpoint as ``spectrum.json`` and ``spectrum.png``, with a
per-layer table of exact and estimated spectral norms on stdout (sngan_cli/reporting/spectrum.py
says what each number is)."""
from __future__ import annotations

import json
import os
from typing import List

from sngan_cli.atomic import atomic_write
from sngan_cli.commands.options import Option, choice, help_requested, parse_options, text, usage
from sngan_cli.trained import checkpoint_path, load_discriminator
from sngan_cli.device import COMMAND_DEVICES, resolve_device

SUMMARY = ("Singular values (exact SVD, float64) of every effective D weight; writes spectrum.json and\n"
           "spectrum.png (Figure 3: sigma_i^2 / sigma_max^2 per layer) beside the checkpoint.")
OPTIONS = {
    "ckpt": Option(text, help="checkpoint file"),
    "run": Option(text, help="run directory: uses DIR/checkpoints/last.pt"),
    "device": Option(choice(*COMMAND_DEVICES), "auto", "where D is loaded"),
}
HEADER = ("layer", "sigma exact", "estimate (raw W)", "exact (raw W)", "values")


def _number(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("spectrum", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    path = checkpoint_path(o["ckpt"], o["run"])
    from sngan_cli.reporting.figure3 import write_figure3  # matplotlib only when needed
    from sngan_cli.reporting.spectrum import layer_spectra

    D, normalizer, config = load_discriminator(path, resolve_device(o["device"]))
    layers = layer_spectra(D, normalizer)
    folder = os.path.dirname(os.path.abspath(path))
    record = {"checkpoint": os.path.abspath(path), "norm": config["norm"]["name"],
              "layers": [layer.as_dict() for layer in layers]}
    atomic_write(os.path.join(folder, "spectrum.json"), lambda f: f.write(json.dumps(record, indent=1).encode()))
    write_figure3(os.path.join(folder, "spectrum.png"),
                  f"{path} (norm={config['norm']['name']}, loss={config['loss']['name']})", layers)

    width = max(len(HEADER[0]), *(len(layer.name) for layer in layers))
    print(f"{HEADER[0]:<{width}}  {HEADER[1]:>12}  {HEADER[2]:>16}  {HEADER[3]:>13}  {HEADER[4]:>6}")
    for layer in layers:
        print(f"{layer.name:<{width}}  {_number(layer.sigma_exact):>12}  {_number(layer.sigma_estimate):>16}  "
              f"{_number(layer.sigma_exact_raw):>13}  {len(layer.singular_values):>6}")
    print("sigma exact: spectral norm of the effective weight D uses; estimate: the normalizer's power-iteration "
          "sigma of the raw weight (— where it keeps none); exact (raw W): the number it estimates.")
    print(f"wrote {os.path.join(folder, 'spectrum.json')} and {os.path.join(folder, 'spectrum.png')}")
