"""The typed schema of a training run.

Hydra composes the YAML groups in ``conf/`` on top of these dataclasses, so a typo in a key or a
value of the wrong type (``train.steps=abc``) fails at compose time. Range checks that a type cannot
express live in :func:`validate`, which runs before any work starts.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from sngan_cli import SnganError


@dataclass
class DatasetConfig:
    name: str = MISSING
    root: str = "data"
    resolution: int = 32
    download: bool = True
    # folder: also look in sub-directories
    recursive: bool = True
    # torchvision sets: which split(s) to train on (stl10: train+unlabeled, the 105K of the paper)
    split: str = "train"
    # resizing to `resolution` (STL-10 96 -> 48 px): antialiased bilinear, or plain bilinear
    antialias: bool = True


@dataclass
class ArchConfig:
    name: str = MISSING
    z_dim: int = 128
    width: float = 1.0  # channel multiplier for G and D (1.0 = the paper)
    g_width: float = 1.0  # extra multiplier for G only (ResNet orthonormal and Table 7: 0.5, the original G)
    d_width: float = 1.0  # extra multiplier for D only (Table 7 widens D 1.5x)
    d_last_channels: Optional[int] = None  # channels of D's last conv layer (Figure 4); null = paper
    conditional: bool = False  # conditional BN in G + projection D (needs a labelled dataset)
    # How the authors' code builds and feeds the networks where the paper's text says otherwise or
    # nothing (docs/fidelity.md); `fidelity=text` switches every point the text states to the text.
    z_distribution: str = "normal"  # normal: N(0, I) | uniform: U[-1, 1] (chainer-gan-lib, arch=cnn)
    g_batch_size: int = 128  # latent vectors per G update (arch=cnn: 64, as chainer-gan-lib)
    data_scaling: str = "dequantize"  # exact: x/127.5 - 1 (arch=cnn) | dequantize: x/128 - 1 + U[0, 1/128)
    # standard CNN only
    d_channels: str = "downsample"  # downsample: D doubles its channels at the 4x4 stride-2 convs | table3
    d_slope: float = 0.2  # leaky ReLU slope in D (Table 3's text: 0.1)
    g_dense_bn: str = "units"  # units: G's first BN over all dense units | channels: per channel
    d_first_norm: bool = False  # norm=batch/layer: also normalize after D's first conv
    # ResNet only
    d_hidden: str = "input"  # width inside a D block: input (its input channels) | output
    residual_gain: float = 1.4142135623730951  # Glorot-uniform gain of the residual convs (shortcuts: 1)
    d_pool: str = "sum"  # D's global pooling: sum | mean (Gulrajani et al.'s ResNet, Table 7)
    d_fc_bias: bool = False  # bias in D's last dense layer (Gulrajani et al.'s ResNet: true)


@dataclass
class NormConfig:
    """All normalizer parameters; each normalizer reads the ones it needs (SPEC section 1)."""

    name: str = MISSING
    n_power_iterations: int = 1  # spectral: power-iteration steps each time u is refreshed
    # spectral: when u is refreshed: every_forward (every training-mode call of D, as the authors'
    # code: 2 n_dis + 1 per G update) | every_update (once per D update, Algorithm 1's text)
    power_iteration: str = "every_forward"
    lipschitz: float = 1.0  # spectral: target spectral norm K of each layer
    clip: float = 0.01  # clip: weights clamped to [-c, c]
    clip_params: str = "all"  # clip: all (every parameter of D) | weights (each layer's weight only, Sec. 4's text)
    gp_lambda: float = 10.0  # gp and the *_gamma normalizers: gradient-penalty weight
    ortho_beta: float = 1e-4  # orthonormal: penalty weight beta
    # spectral_gamma, weight_gamma, frobenius_gamma: initial learnable scale; null = the norm the
    # weight is divided by (sigma(W), ||w_i||, ||W||_F), so the scaled weight equals W at step 0
    gamma_init: Optional[float] = None


@dataclass
class LossConfig:
    name: str = MISSING


@dataclass
class SettingConfig:
    """Adam hyper-parameters and n_dis (Table 1)."""

    name: str = MISSING
    lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING
    n_dis: int = MISSING
    lr_decay: str = "none"  # none | linear (to 0 at train.steps, starting at decay_start)
    decay_start: int = 0
    steps: int = 100_000  # the setting's run length in generator updates: train.steps' default


@dataclass
class TrainConfig:
    steps: int = 100_000  # generator updates (train.yaml: the setting's, setting.steps)
    batch_size: int = 64
    g_batch_size: Optional[int] = None  # latent vectors per G update; null = the architecture's (arch.g_batch_size)
    ckpt_every: int = 5_000
    sample_every: int = 5_000
    log_every: int = 100
    eval_every: int = 0  # 0 = off
    on_nan: str = "stop"  # stop | restore
    n_samples_grid: int = 100
    # speed options (docs/performance.md): how the computation runs, not what it computes
    channels_last: bool = False  # NHWC memory layout for G, D and the batches
    tf32: bool = False  # CUDA: TF32 matmuls and convolutions (false keeps PyTorch's defaults)
    compile: bool = False  # torch.compile of G, D's loss, G's loss and the normalizer's per-update work and penalty
    cuda_graphs: bool = False  # compile in mode reduce-overhead: CUDA graphs of the compiled steps (implies compile)
    amp: str = "none"  # none | bf16 (autocast of G and D; sigma, losses and gradient penalty in fp32)
    fused_adam: bool = True  # Adam's fused implementation (the same update, one kernel for all parameters)
    # an exponential moving average of G's weights (beyond the paper; training/ema.py)
    ema: bool = False
    ema_decay: float = 0.9999
    ema_start: int = 1000  # G updates before averaging starts (G_ema is a copy of G until then)


@dataclass
class EvalConfig:
    """Evaluation during training (train.eval_every) and the defaults of `sngan eval`."""

    protocol: str = "paper"  # paper | standard (SPEC section 4)
    detector: str = "auto"  # auto (digits-classifier for digits, else inception) | inception | digits-classifier
    n_generated: Optional[int] = None  # null = the protocol's count
    seed: int = 0
    batch_size: int = 250
    inception_weights: Optional[str] = None  # or env SNGAN_INCEPTION_WEIGHTS
    quantize: str = "truncate"  # G's output -> uint8: truncate (the authors' astype(uint8)) | round


@dataclass
class TrainRunConfig:
    dataset: DatasetConfig = MISSING
    arch: ArchConfig = MISSING
    norm: NormConfig = MISSING
    loss: LossConfig = MISSING
    setting: SettingConfig = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | cuda:free (one GPU per job of a local sweep)
    name: str = ""


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainRunConfig)
    for group, node in [("dataset", DatasetConfig), ("arch", ArchConfig), ("norm", NormConfig),
                        ("loss", LossConfig), ("setting", SettingConfig)]:
        cs.store(group=group, name="schema", node=node)


# Closed choices of the keys that follow the authors' code or the paper's text (docs/fidelity.md).
CHOICES = {
    "arch.z_distribution": ("normal", "uniform"),
    "arch.data_scaling": ("exact", "dequantize"),
    "arch.d_channels": ("downsample", "table3"),
    "arch.g_dense_bn": ("units", "channels"),
    "arch.d_hidden": ("input", "output"),
    "arch.d_pool": ("sum", "mean"),
    "norm.power_iteration": ("every_forward", "every_update"),
    "norm.clip_params": ("all", "weights"),
    "eval.quantize": ("truncate", "round"),
}


# Keys a resumed run may change: how long it runs and how often it logs, where it runs.
RESUMABLE_KEYS = ("train.steps", "train.ckpt_every", "train.sample_every", "train.log_every",
                  "train.eval_every", "train.on_nan", "device", "dataset.root", "dataset.download",
                  "eval.protocol", "eval.detector", "eval.n_generated", "eval.seed", "eval.batch_size",
                  "eval.inception_weights", "train.channels_last", "train.tf32", "train.compile", "train.amp",
                  "train.cuda_graphs", "train.fused_adam")


def _positive(cfg, key: str) -> None:
    value = _get(cfg, key)
    if value is None or value <= 0:
        raise SnganError(f"{key}={value} is not allowed: it must be > 0")


def _non_negative(cfg, key: str) -> None:
    value = _get(cfg, key)
    if value < 0:
        raise SnganError(f"{key}={value} is not allowed: it must be >= 0")


def _one_of(cfg, key: str, allowed) -> None:
    value = _get(cfg, key)
    if value not in allowed:
        raise SnganError(f"{key}={value} is not allowed: choose one of {', '.join(map(str, allowed))}")


def _get(cfg, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


GROUPS = ("dataset", "arch", "norm", "loss", "setting")


def _leaves(node, prefix: str = ""):
    """(dotted key, value) of every leaf of a plain nested dict/list."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def check_values(cfg) -> None:
    """Every key has a value and every number is finite, whatever the key (new ones included)."""
    from omegaconf import OmegaConf

    # Hydra's own node (present when composed with return_hydra_config) is Hydra's to check
    ours = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    missing = sorted(OmegaConf.missing_keys(ours))
    if missing:
        key = missing[0]
        group = key.split(".")[0]
        if group in GROUPS:
            raise SnganError(f"{key} has no value: choose a {group} with {group}=NAME ({group}=schema is the typed "
                             f"schema the {group} options extend, not an option itself)")
        raise SnganError(f"{key} has no value: set {key}=...")
    for key, value in _leaves(OmegaConf.to_container(ours, resolve=True)):
        if isinstance(value, float) and not math.isfinite(value):
            raise SnganError(f"{key}={value} is not allowed: it must be a finite number")


def validate(cfg) -> None:
    """Range checks a type cannot express; raise SnganError naming the key, value and what is allowed."""
    check_values(cfg)
    for key in ("train.steps", "train.batch_size", "train.ckpt_every", "train.sample_every",
                "train.log_every", "train.n_samples_grid", "dataset.resolution", "arch.z_dim",
                "arch.width", "arch.g_width", "arch.d_width", "setting.lr", "setting.n_dis",
                "norm.n_power_iterations", "norm.lipschitz", "norm.clip"):
        _positive(cfg, key)
    for key in ("train.eval_every", "norm.gp_lambda", "norm.ortho_beta", "setting.decay_start", "seed"):
        _non_negative(cfg, key)
    if cfg.train.g_batch_size is not None:
        _positive(cfg, "train.g_batch_size")
    if cfg.arch.d_last_channels is not None:
        _positive(cfg, "arch.d_last_channels")
    for key in ("setting.beta1", "setting.beta2"):
        if not 0.0 <= _get(cfg, key) < 1.0:
            raise SnganError(f"{key}={_get(cfg, key)} is not allowed: it must be in [0, 1)")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+|:free)?", str(cfg.device)):
        raise SnganError(f"device={cfg.device} is not allowed: choose one of auto, cpu, cuda, cuda:N, "
                         f"cuda:free (the first GPU no other sngan run on this machine holds)")
    from sngan_cli.models import check_arch  # torch-heavy: imported only when validating

    check_arch(cfg.arch.name, cfg.dataset.resolution, cfg.arch.conditional)
    _one_of(cfg, "setting.lr_decay", ("none", "linear"))
    _positive(cfg, "setting.steps")
    _positive(cfg, "arch.g_batch_size")
    _positive(cfg, "arch.residual_gain")
    if not 0.0 <= cfg.arch.d_slope < 1.0:
        raise SnganError(f"arch.d_slope={cfg.arch.d_slope} is not allowed: it must be in [0, 1)")
    for key, allowed in CHOICES.items():
        _one_of(cfg, key, allowed)
    if cfg.norm.gamma_init is not None:
        _positive(cfg, "norm.gamma_init")
    _one_of(cfg, "train.on_nan", ("stop", "restore"))
    _one_of(cfg, "train.amp", ("none", "bf16"))
    _one_of(cfg, "eval.protocol", ("paper", "standard"))
    _one_of(cfg, "eval.detector", ("auto", "inception", "digits-classifier"))
    _positive(cfg, "eval.batch_size")
    if not 0.0 <= cfg.train.ema_decay < 1.0:
        raise SnganError(f"train.ema_decay={cfg.train.ema_decay} is not allowed: it must be in [0, 1)")
    _non_negative(cfg, "train.ema_start")
    if cfg.eval.n_generated is not None and cfg.eval.n_generated < 2:
        raise SnganError(f"eval.n_generated={cfg.eval.n_generated} is not allowed: it must be >= 2")
