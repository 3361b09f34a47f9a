"""`sngan export`: TorchScript (always) and ONNX (where onnx, onnxscript and onnxruntime are installed)
files that reproduce the in-process generator, load without sngan, and take any batch size."""
import importlib.util
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from sngan_cli import SnganError
from sngan_cli.commands import export
from sngan_cli.trained import latents
from sngan_cli.trained import load_generator
from sngan_cli.images import to_uint8

CPU = torch.device("cpu")
BATCH = 5  # neither export.TRACE_BATCH nor export.CHECK_BATCH
# the user asked for TorchScript; torch's notice that it is deprecated is not this suite's concern
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
ONNX_RUNTIME = all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript", "onnxruntime"))


def reference(ckpt):
    """Float outputs of the in-process G for the latents `sngan sample n=BATCH` draws."""
    tg = load_generator(ckpt, CPU)
    inputs = tuple(t for t in latents(tg, BATCH, seed=0) if t is not None)
    with torch.no_grad():
        return tg, inputs, tg.G(*inputs)


@pytest.mark.parametrize("which", ["tiny_checkpoint", "tiny_conditional_checkpoint"])
def test_torchscript_reproduces_the_generator_at_another_batch_size(which, request, tmp_path):
    ckpt, out = request.getfixturevalue(which), tmp_path / "g.pt"
    export.main([f"ckpt={ckpt}", "format=torchscript", f"out={out}"])
    tg, inputs, expected = reference(ckpt)
    extra = {"sngan.json": ""}
    module = torch.jit.load(str(out), _extra_files=extra)
    with torch.no_grad():
        images = module(*inputs)
    assert images.shape == (BATCH, 3, tg.resolution, tg.resolution)
    assert torch.allclose(images, expected, atol=1e-5, rtol=0)
    assert torch.equal(to_uint8(images), to_uint8(expected))
    assert json.loads(extra["sngan.json"])["inputs"] == (["z", "y"] if tg.num_classes else ["z"])


@pytest.mark.slow  # a fresh interpreter that imports torch: several seconds on a small CPU
def test_torchscript_loads_without_sngan(tiny_conditional_checkpoint, tmp_path):
    out = tmp_path / "g.pt"
    export.main([f"ckpt={tiny_conditional_checkpoint}", "format=torchscript", f"out={out}"])
    code = """
import json, sys
sys.modules["sngan_cli"] = None  # hide an installed sngan: the file must not need it
try:
    import sngan_cli
    raise SystemExit("sngan_cli is importable")
except ImportError:
    pass
import torch
extra = {"sngan.json": ""}
g = torch.jit.load(sys.argv[1], _extra_files=extra)
meta = json.loads(extra["sngan.json"])
print(tuple(g(torch.randn(4, meta["z_dim"]), torch.arange(4) % meta["num_classes"]).shape))
"""
    # -I: no cwd, PYTHONPATH or user site on sys.path; cwd away from the repository as well
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(4, 3, 16, 16)"


@pytest.mark.skipif(not ONNX_RUNTIME, reason="needs onnx, onnxscript and onnxruntime")
def test_onnx_reproduces_the_generator(tiny_conditional_checkpoint, tmp_path):
    import onnxruntime

    out = tmp_path / "g.onnx"
    export.main([f"ckpt={tiny_conditional_checkpoint}", "format=onnx", f"out={out}"])
    _, inputs, expected = reference(tiny_conditional_checkpoint)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    images = session.run(["images"], {"z": inputs[0].numpy(), "y": inputs[1].numpy()})[0]
    assert images.shape == tuple(expected.shape)
    assert torch.allclose(torch.from_numpy(images), expected, atol=1e-5, rtol=0)


def test_onnx_without_its_packages_names_them(tiny_checkpoint, tmp_path, monkeypatch):
    for name in export.ONNX_PACKAGES:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(SnganError, match="format=onnx needs the onnx and onnxscript packages: pip install onnx onnxscript"):
        export.main([f"ckpt={tiny_checkpoint}", "format=onnx", f"out={tmp_path / 'g.onnx'}"])
    assert not (tmp_path / "g.onnx").exists()


@pytest.mark.parametrize("which", ["tiny_checkpoint", "tiny_conditional_checkpoint"])
def test_the_loaded_generator_has_no_parametrization_to_fold(which, request):
    """The normalizers reparametrize D only and load_generator builds G from its config alone, so the
    exported module is G as it is: plain weights, no power iteration."""
    tg = load_generator(request.getfixturevalue(which), CPU)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in tg.G.modules())


@pytest.mark.parametrize("args,expected", [
    (["format=keras"], "format=keras is not allowed: must be one of torchscript, onnx"),
    ([], "format= is required"),
    (["format=torchscript", "device=tpu"], "device=tpu is not allowed: must be one of auto, cpu, cuda"),
])
def test_bad_options_are_clear_errors(args, expected, tmp_path):
    with pytest.raises(SnganError, match=expected):
        export.main([f"ckpt={tmp_path}/none.pt", f"out={tmp_path}/g.pt", *args])


def test_existing_out_is_refused_unless_overwrite(tiny_checkpoint, tmp_path):
    out = tmp_path / "g.pt"
    out.write_bytes(b"keep")
    with pytest.raises(SnganError, match="exists; add overwrite=true"):
        export.main([f"ckpt={tiny_checkpoint}", "format=torchscript", f"out={out}"])
    assert out.read_bytes() == b"keep"
    export.main([f"ckpt={tiny_checkpoint}", "format=torchscript", f"out={out}", "overwrite=true"])
    assert torch.jit.load(str(out)) is not None
