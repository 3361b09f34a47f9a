"""Trained networks back from a checkpoint: G for sampling, evaluation and export; D for its spectrum."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Tuple

import torch
from torch import nn
from tqdm import tqdm

from sngan_cli import SnganError
from sngan_cli.images import to_uint8
from sngan_cli.models import architecture, discriminator_from, generator_from
from sngan_cli.models.latent import RANDOM, draw_latent
from sngan_cli.norms import Normalizer, build_normalizer
from sngan_cli.run_dir import LAST, checkpoint_dir
from sngan_cli.training.checkpoint import load_checkpoint_file, load_weights


Batch = Tuple[torch.Tensor, Optional[torch.Tensor]]
# g=NAME of sngan eval, sample and export: which generator of a checkpoint, and its key there
GENERATORS = {"G": "G", "ema": "G_ema"}  # ema: G's moving average (train.ema, training/ema.py)


@dataclass
class TrainedGenerator:
    G: nn.Module  # in eval mode, on its device
    z_dim: int
    num_classes: int  # 0 for unconditional models
    resolution: int
    step: int
    config: Dict[str, Any]
    path: str
    z_distribution: str = "normal"
    quantize: str = "truncate"  # how G's output becomes uint8 (eval.quantize of the run)

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    def latent(self, n: int, generator: torch.Generator, label: Optional[int] = None):
        """z (the run's arch.z_distribution) and labels (uniform, or all ``label``) drawn from
        ``generator`` on the CPU, on G's device."""
        return draw_latent(n, self.z_dim, self.z_distribution, self.num_classes, RANDOM if label is None else label,
                           self.device, generator)

    @torch.no_grad()
    def images(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """uint8 (N, 3, H, W) images, quantized exactly like saved PNGs."""
        return to_uint8(self.G(z, y), self.quantize)


def latents(tg: TrainedGenerator, n: int, seed: int, label: Optional[int] = None) -> Batch:
    """The n latents (and labels) of ``sngan sample`` and ``sngan eval`` for ``seed``, on G's device."""
    return tg.latent(n, torch.Generator().manual_seed(seed), label)


def render(tg: TrainedGenerator, z: torch.Tensor, y: Optional[torch.Tensor], batch_size: int,
           progress: bool = False) -> Iterator[Batch]:
    """uint8 (B, 3, H, W) image batches and their labels (None when unconditional), on G's device:
    an evaluation hands them to the detector there; what writes files moves them to the host."""
    # disable=None: tqdm shows the bar only on a terminal, so logs stay clean
    with tqdm(total=len(z), unit="img", disable=None if progress else True) as bar:
        for start in range(0, len(z), batch_size):
            yb = None if y is None else y[start:start + batch_size]
            images = tg.images(z[start:start + batch_size], yb)
            bar.update(len(images))
            yield images, yb


def generate(tg: TrainedGenerator, n: int, seed: int, batch_size: int, label: Optional[int] = None,
             progress: bool = False) -> Iterator[Batch]:
    z, y = latents(tg, n, seed, label)
    return render(tg, z, y, batch_size, progress)


def checkpoint_path(ckpt: Optional[str] = None, run: Optional[str] = None) -> str:
    if bool(ckpt) == bool(run):
        raise SnganError("give exactly one of ckpt=PATH or run=DIR")
    return ckpt if ckpt else os.path.join(checkpoint_dir(run), LAST)


def load_generator(path: str, device: torch.device, g: str = "G") -> TrainedGenerator:
    """The checkpoint's G, or (``g="ema"``) its moving average, in eval mode on ``device``."""
    ckpt = load_checkpoint_file(path, "cpu")
    key = GENERATORS[g]
    if key not in ckpt:
        raise SnganError(f"checkpoint {path} has no {key}: g={g} needs a run trained with train.ema=true")
    cfg = ckpt.get("config")
    if not isinstance(cfg, dict):
        raise SnganError(f"checkpoint {path} lacks its resolved config")
    try:
        defaults = with_schema_defaults(cfg)
        arch, quantize, resolution = defaults["arch"], defaults["eval"]["quantize"], cfg["dataset"]["resolution"]
        num_classes = int(ckpt.get("num_classes", 0))
        G = generator_from(arch, resolution, num_classes)
    except Exception as e:  # a missing or edited key, a value of the wrong type
        raise SnganError(f"checkpoint {path}: its config does not describe a generator sngan can build "
                         f"({type(e).__name__}: {e})") from None
    load_weights(G, ckpt[key], path, key)
    warn_if_not_finite(ckpt[key], path, key)
    G.to(device).eval()
    return TrainedGenerator(G, arch["z_dim"], num_classes, resolution, int(ckpt["step"]), cfg, path,
                            arch["z_distribution"], quantize)


def with_schema_defaults(config: Dict[str, Any]):
    """A checkpoint's resolved config with the schema's defaults for keys it predates. Of its ``arch``
    keys it keeps those its architecture's schema has: a checkpoint of an older version saved every
    architecture's keys."""
    import dataclasses

    from omegaconf import OmegaConf

    from sngan_cli.config.schema import EvalConfig

    schema = architecture(config["arch"]["name"]).config
    keys = {f.name for f in dataclasses.fields(schema)}
    return {"arch": OmegaConf.merge(OmegaConf.structured(schema),
                                    {k: v for k, v in config["arch"].items() if k in keys}),
            "eval": OmegaConf.merge(OmegaConf.structured(EvalConfig), config.get("eval", {}))}


def saved_normalizer(norm: Dict[str, Any]) -> Normalizer:
    """The normalizer of a checkpoint's ``norm`` options, of which it keeps those its schema has: a
    checkpoint of an older version saved every normalizer's options under each."""
    import dataclasses

    from sngan_cli.norms import normalizer_class

    keys = {f.name for f in dataclasses.fields(normalizer_class(norm["name"]).config)}
    return build_normalizer({k: v for k, v in norm.items() if k in keys})


def warn_if_not_finite(state: Dict[str, Any], path: str, what: str) -> None:
    """A checkpoint saved after training diverged still loads; its images and scores mean nothing."""
    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        warnings.warn(f"checkpoint {path}: {what} holds NaN or infinite weights ({', '.join(bad[:3])}"
                      f"{', ...' if len(bad) > 3 else ''}); its images and scores are meaningless")


def load_discriminator(path: str, device: torch.device) -> Tuple[nn.Module, Normalizer, Dict[str, Any]]:
    """D with its normalizer applied and its weights (and e.g. spectral norm's u, v) loaded, in eval mode."""
    ckpt = load_checkpoint_file(path, "cpu")
    try:
        normalizer = saved_normalizer(ckpt["config"]["norm"])
        D = discriminator_from(with_schema_defaults(ckpt["config"])["arch"], ckpt["config"]["dataset"]["resolution"],
                               int(ckpt.get("num_classes", 0)), normalizer.feature_norm)
        normalizer.apply(D)
    except Exception as e:  # a missing or edited key, a value of the wrong type
        raise SnganError(f"checkpoint {path}: its config does not describe a discriminator sngan can build "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    load_weights(D, ckpt["D"], path, "D")
    warn_if_not_finite(ckpt["D"], path, "D")
    return D.to(device).eval(), normalizer, ckpt["config"]
