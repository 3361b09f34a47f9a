"""``sngan export``: the trained generator as one standalone file that runs without sngan.

The file holds G in eval mode (BN running statistics) with its plain weights (the normalizers
reparametrize D only, so G has no parametrization to fold): ``forward(z)``, or ``forward(z, y)`` for
conditional models, takes z float32 (N, z_dim) and y int64 (N,) and returns images float32
(N, 3, H, W) in [-1, 1], for any N. Load it with ``torch.jit.load`` (format=torchscript) or an ONNX
runtime such as onnxruntime (format=onnx; the export itself needs the onnx and onnxscript packages).
The TorchScript file also carries ``sngan.json`` (z_dim, classes, resolution, step), readable
through ``torch.jit.load``'s ``_extra_files``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from typing import Any, Dict, Iterator, List, Tuple

import torch
from torch import nn

from sngan_cli import SnganError, __version__
from sngan_cli.atomic import atomic_write, refuse_file_in_the_way
from sngan_cli.commands.options import Option, boolean, choice, help_requested, parse_options, text, usage
from sngan_cli.models.latent import CYCLE, draw_latent
from sngan_cli.trained import GENERATORS, TrainedGenerator, checkpoint_path, load_generator
from sngan_cli.device import COMMAND_DEVICES, resolve_device

SUMMARY = "Write the generator of a checkpoint as a standalone TorchScript or ONNX file."
OPTIONS = {
    "ckpt": Option(text, help="checkpoint file"),
    "run": Option(text, help="run directory: uses DIR/checkpoints/last.pt"),
    "format": Option(choice("torchscript", "onnx"), help="torchscript or onnx", required=True),
    "out": Option(text, help="file to write", required=True),
    # cpu by default: a file with CPU weights loads anywhere (torch.jit.load's map_location moves it)
    "device": Option(choice(*COMMAND_DEVICES), "cpu", "device of the exported weights"),
    "g": Option(choice(*GENERATORS), "G", "G, or ema: G's moving average (a run trained with train.ema=true)"),
    "overwrite": Option(boolean, False, "replace an existing out file"),
}
# traced at one batch size and checked at another, so no batch size is baked into the graph
TRACE_BATCH, CHECK_BATCH = 2, 3
ONNX_PACKAGES = ("onnx", "onnxscript")


class UnconditionalGenerator(nn.Module):
    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z)


class ConditionalGenerator(nn.Module):
    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.G(z, y)


def standalone(tg: TrainedGenerator, device: torch.device) -> nn.Module:
    G = tg.G.to(device)
    return (ConditionalGenerator(G) if tg.num_classes else UnconditionalGenerator(G)).eval()


def example_inputs(tg: TrainedGenerator, batch: int, device: torch.device) -> Tuple[torch.Tensor, ...]:
    z, y = draw_latent(batch, tg.z_dim, tg.z_distribution, tg.num_classes, CYCLE, device,
                       torch.Generator().manual_seed(batch))
    return (z,) if y is None else (z, y)


def input_names(tg: TrainedGenerator) -> List[str]:
    return ["z", "y"] if tg.num_classes else ["z"]


@torch.no_grad()
def to_torchscript(module: nn.Module, tg: TrainedGenerator, device: torch.device) -> torch.jit.ScriptModule:
    return torch.jit.trace(module, example_inputs(tg, TRACE_BATCH, device),
                           check_inputs=[example_inputs(tg, CHECK_BATCH, device)])


def metadata(tg: TrainedGenerator) -> Dict[str, Any]:
    return {"inputs": input_names(tg), "z_dim": tg.z_dim, "num_classes": tg.num_classes,
            "resolution": tg.resolution, "output": "images float32 (N, 3, H, W) in [-1, 1]",
            "step": tg.step, "sngan_version": __version__}


@contextlib.contextmanager
def quiet_exporters() -> Iterator[None]:
    """Silence torch's notices that say nothing about the file written: TorchScript's deprecation
    (the user chose the format) and the ONNX exporter's remark that z and y share the batch axis."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r"# The axis name", category=UserWarning)
        yield


def write_torchscript(module: nn.Module, tg: TrainedGenerator, device: torch.device, path: str) -> None:
    extra = {"sngan.json": json.dumps(metadata(tg))}
    with quiet_exporters():
        traced = to_torchscript(module, tg, device)
        atomic_write(path, lambda f: torch.jit.save(traced, f, _extra_files=extra))


def require_onnx() -> None:
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise SnganError(f"format=onnx needs the {' and '.join(missing)} package{'s' if len(missing) > 1 else ''}: "
                         f"pip install {' '.join(missing)}")


@torch.no_grad()
def write_onnx(module: nn.Module, tg: TrainedGenerator, device: torch.device, path: str) -> None:
    names = input_names(tg)
    batch = torch.export.Dim("batch", min=1)
    with tempfile.TemporaryDirectory() as tmp, quiet_exporters():
        # the exporter writes to a path; the copy through atomic_write keeps out all-or-nothing
        tmp_path = os.path.join(tmp, "generator.onnx")
        torch.onnx.export(module, example_inputs(tg, TRACE_BATCH, device), tmp_path, input_names=names,
                          output_names=["images"], dynamic_shapes=[{0: batch}] * len(names),
                          external_data=False, dynamo=True, verbose=False)
        with open(tmp_path, "rb") as src:
            atomic_write(path, lambda f: shutil.copyfileobj(src, f))


def check_out(out: str, overwrite: bool) -> None:
    refuse_file_in_the_way(out)
    if os.path.isdir(out):
        raise SnganError(f"out={out} is a directory; give a file name")
    if os.path.exists(out) and not overwrite:
        raise SnganError(f"out={out} exists; add overwrite=true to replace it")


def main(argv: List[str]) -> None:
    if help_requested(argv):
        print(usage("export", SUMMARY, OPTIONS))
        return
    o = parse_options(argv, OPTIONS)
    check_out(o["out"], o["overwrite"])
    if o["format"] == "onnx":
        require_onnx()  # fail before the checkpoint is loaded: the fix is an install
    device = resolve_device(o["device"])
    tg = load_generator(checkpoint_path(o["ckpt"], o["run"]), device, o["g"])
    module = standalone(tg, device)
    write = write_onnx if o["format"] == "onnx" else write_torchscript
    write(module, tg, device, o["out"])
    inputs = f"z: float32 (N, {tg.z_dim})" + (f", y: int64 (N,) in 0..{tg.num_classes - 1}" if tg.num_classes else "")
    print(f"wrote {o['out']} ({o['format']}): forward({inputs}) -> images float32 "
          f"(N, 3, {tg.resolution}, {tg.resolution}) in [-1, 1]")
