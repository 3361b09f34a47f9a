"""The TensorFlow Inception (2015-12-05) that IS and FID are defined with (paper Sec. 4, Appendix B.1),
ported to PyTorch.

torchvision's Inception3 (1008 classes, no aux head) with the patches that make it compute what the
TF graph computes: average pools that ignore the zero padding (Mixed_5b–5d, 6b–6e, 7b) and a max
pool in the pool branch of Mixed_7c. Inputs are uint8 RGB images of any size, resized to 299×299
with TF-1 bilinear rules (no half-pixel offset) and mapped by (x − 128) / 128. Outputs are the
2048-d pool3 features (FID) and pool3 · fc.weightᵀ without the bias (IS, as in the TF graph's
softmax over 1008 classes).

The weights file is the one pytorch-fid and torch-fidelity load; where it comes from is resolved
here: explicit path > $SNGAN_INCEPTION_WEIGHTS > torch hub cache > download.
"""
from __future__ import annotations

import functools
import os
import pickle
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.models import inception

from sngan_cli import SnganError
from sngan_cli.metrics.cache import file_sha256
from sngan_cli.metrics.detector import Detector

NAME = "inception"
WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_SHA256_PREFIX = "6726825d"
WEIGHTS_ENV_VAR = "SNGAN_INCEPTION_WEIGHTS"
INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_CLASSES = 1008


class WeightsUnavailable(SnganError):
    """The Inception weights could not be found, verified, downloaded or loaded."""

    def __init__(self, reason: str) -> None:
        # One paragraph, whatever the underlying error printed: the CLI shows it as is.
        reason = textwrap.shorten(reason, 400, placeholder=" …")
        super().__init__(
            f"Inception weights unavailable: {reason}. IS and FID need the TF Inception 2015-12-05 "
            f"weights ported to PyTorch ({WEIGHTS_URL}, SHA-256 starting with {WEIGHTS_SHA256_PREFIX}). "
            f"Download that file on a machine with internet access, then pass it with "
            f"eval.inception_weights=PATH or the environment variable {WEIGHTS_ENV_VAR}=PATH, "
            f"or copy it to {hub_cache_path()}."
        )


# ---------------------------------------------------------------------------------------------
# Preprocessing


def resize_bilinear_tf1(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of float images [N, C, H, W] as TF-1's tf.image.resize_bilinear does.

    align_corners=False but, unlike torch's bilinear, without the half-pixel offset: output pixel i
    samples the input at i · (in_size / out_size). Interpolation runs along the width first, then
    the height, in the order of TF's kernel, with float32 sample coordinates as TF computes them.
    """
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"expected float images [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    out_h, out_w = (size, size) if isinstance(size, int) else size
    y_lo, y_hi, dy = _sample_points(images.shape[2], out_h, images)
    x_lo, x_hi, dx = _sample_points(images.shape[3], out_w, images)
    top, bottom = images.index_select(2, y_lo), images.index_select(2, y_hi)
    top_left, top_right = top.index_select(3, x_lo), top.index_select(3, x_hi)
    bottom_left, bottom_right = bottom.index_select(3, x_lo), bottom.index_select(3, x_hi)
    top = top_left + (top_right - top_left) * dx
    bottom = bottom_left + (bottom_right - bottom_left) * dx
    return top + (bottom - top) * dy[:, None]


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB [N, 3, H, W] → the network's float32 input [N, 3, 299, 299] in [-1, 1)."""
    x = resize_bilinear_tf1(images.to(torch.float32), INPUT_SIZE)
    return (x - 128) / 128


def _sample_points(
    in_size: int, out_size: int, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    scale = torch.tensor(in_size / out_size, dtype=torch.float32)
    source = torch.arange(out_size, dtype=torch.float32) * scale
    lo = source.floor().long()
    hi = (lo + 1).clamp(max=in_size - 1)
    frac = (source - lo).to(dtype=like.dtype, device=like.device)
    return lo.to(like.device), hi.to(like.device), frac


# ---------------------------------------------------------------------------------------------
# Network


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TF's average pool divides by the number of real pixels, not counting the zero padding.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _tf_max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class _InceptionA(inception.InceptionA):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), branch5x5, branch3x3dbl, self.branch_pool(_tf_avg_pool(x))]


class _InceptionC(inception.InceptionC):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = layer(branch7x7dbl)
        return [self.branch1x1(x), branch7x7, branch7x7dbl, self.branch_pool(_tf_avg_pool(x))]


class _InceptionE(inception.InceptionE):
    def __init__(self, in_channels: int, pool: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__(in_channels)
        self.pool = pool

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        return [self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(self.pool(x))]


class TFInception(inception.Inception3):
    """uint8 RGB images [N, 3, H, W] → (pool3 features [N, 2048], unbiased logits [N, 1008]).

    Its state dict has exactly the layout of `pt_inception-2015-12-05-6726825d.pth`.
    """

    def __init__(self) -> None:
        super().__init__(
            num_classes=NUM_CLASSES,
            aux_logits=False,
            init_weights=False,
            inception_blocks=[
                inception.BasicConv2d,
                _InceptionA,
                inception.InceptionB,
                _InceptionC,
                inception.InceptionD,
                functools.partial(_InceptionE, pool=_tf_avg_pool),
                inception.InceptionAux,
            ],
        )
        # The TF graph max-pools in the last block's pool branch (a quirk of that model).
        self.Mixed_7c = _InceptionE(2048, pool=_tf_max_pool)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = preprocess(images)
        for block in (
            self.Conv2d_1a_3x3,
            self.Conv2d_2a_3x3,
            self.Conv2d_2b_3x3,
            self.maxpool1,
            self.Conv2d_3b_1x1,
            self.Conv2d_4a_3x3,
            self.maxpool2,
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
            self.avgpool,
        ):
            x = block(x)
        features = torch.flatten(x, 1)
        # float64: a float32 GEMM's rounding depends on the batch size; the IS must not.
        logits = (features.double() @ self.fc.weight.double().T).float()
        return features, logits


# ---------------------------------------------------------------------------------------------
# Weights


def hub_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def resolve_weights(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The weights file and its SHA-256: `path`, else $SNGAN_INCEPTION_WEIGHTS, else the hub cache,
    else a download into the hub cache.

    A file given by path or environment is trusted (its hash is only recorded); a file in the hub
    cache or a download must match the hash prefix in its name, as torch.hub checks it.
    """
    for given, how in ((path, "eval.inception_weights"), (os.environ.get(WEIGHTS_ENV_VAR), WEIGHTS_ENV_VAR)):
        if given:
            given = Path(given).expanduser()
            if not given.is_file():
                raise WeightsUnavailable(f"{how}={given} is not a file")
            return given, file_sha256(given)

    cached = hub_cache_path()
    if not cached.is_file():
        _download(cached)
    sha256 = file_sha256(cached)
    if not sha256.startswith(WEIGHTS_SHA256_PREFIX):
        raise WeightsUnavailable(
            f"{cached} has SHA-256 {sha256}, which does not start with {WEIGHTS_SHA256_PREFIX}; delete it"
        )
    return cached, sha256


def _download(destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial")
    os.close(fd)
    try:
        try:
            torch.hub.download_url_to_file(WEIGHTS_URL, tmp, progress=True)
        except Exception as err:  # urllib, ssl and socket errors have no common base short of this
            raise WeightsUnavailable(f"downloading {WEIGHTS_URL} failed ({err})") from err
        sha256 = file_sha256(tmp)
        if not sha256.startswith(WEIGHTS_SHA256_PREFIX):
            raise WeightsUnavailable(f"the downloaded file has SHA-256 {sha256}")
        os.replace(tmp, destination)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_tf_inception(path: str | os.PathLike | None = None) -> tuple[TFInception, str]:
    """The patched Inception with resolved weights loaded, and the weights' SHA-256."""
    weights, sha256 = resolve_weights(path)
    network = TFInception()
    try:
        network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (RuntimeError, TypeError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise WeightsUnavailable(f"{weights} is not a pt_inception state dict ({err})") from err
    return network, sha256


def build_inception_detector(
    weights_path: str | os.PathLike | None = None,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    cache_dir: str | os.PathLike | None = None,
) -> Detector:
    """The `inception` detector. `cache_dir` is unused: these weights live in torch hub's cache,
    shared with pytorch-fid and torch-fidelity."""
    network, sha256 = load_tf_inception(weights_path)
    return Detector(
        network,
        name=NAME,
        weights_sha256=sha256,
        feature_dim=FEATURE_DIM,
        num_classes=NUM_CLASSES,
        device=device,
        batch_size=batch_size,
    )
