"""The typed schema of a training run.

Hydra composes the YAML groups in ``conf/`` (arch, setting, presets) on top of these dataclasses,
of the options each normalizer, loss and dataset registers beside its code and of the keys each
architecture registers beside its networks (register_configs), so a typo in a key, a key the chosen
option does not have (``norm=spectral norm.clip=0.05``, ``arch=cnn arch.d_pool=mean``), a
value of the wrong type (``train.steps=abc``) or a closed choice outside its Enum
(``arch.z_distribution=gaussian``) fails at compose time. Each Enum is defined where its choice is
implemented; the choices of registries (protocols, detectors) are read from them. Ranges are declared
on the fields and checked by config.validate().
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from sngan_cli import SnganError
from sngan_cli.config import at_least, fraction, non_negative, positive
from sngan_cli.data import DatasetConfig, configs as dataset_configs
from sngan_cli.images import Quantize
from sngan_cli.losses import LOSSES, LossConfig
from sngan_cli.metrics.evaluate import SAMPLE_METRICS
from sngan_cli.metrics.protocol import PROTOCOLS
from sngan_cli.metrics.registry import DETECTORS
from sngan_cli.models import ArchConfig, architectures
from sngan_cli.norms import NormConfig, normalizers
from sngan_cli.training.speed import Amp


class LrDecay(StrEnum):
    none = "none"
    linear = "linear"  # to 0 at train.steps, starting at setting.decay_start


@dataclass
class SettingConfig:
    """Adam hyper-parameters and n_dis (Table 1)."""

    name: str = MISSING
    lr: float = positive()
    beta1: float = fraction()
    beta2: float = fraction()
    n_dis: int = positive()
    lr_decay: LrDecay = LrDecay.none
    decay_start: int = non_negative(0)
    steps: int = positive(100_000)  # the setting's run length in generator updates: train.steps' default


class OnNaN(StrEnum):
    stop = "stop"
    restore = "restore"  # roll back to the last checkpoint and go on with a new seed


@dataclass
class TrainConfig:
    steps: int = positive(100_000)  # generator updates (train.yaml: the setting's, setting.steps)
    batch_size: int = positive(64)
    g_batch_size: Optional[int] = positive(None)  # latent vectors per G update; null = the architecture's (arch.g_batch_size)
    ckpt_every: int = positive(5_000)
    sample_every: int = positive(5_000)
    log_every: int = positive(100)
    eval_every: int = non_negative(0)  # 0 = off
    on_nan: OnNaN = OnNaN.stop
    n_samples_grid: int = positive(100)
    # speed options (docs/performance.md): how the computation runs, not what it computes
    channels_last: bool = False  # NHWC memory layout for G, D and the batches
    tf32: bool = False  # CUDA: TF32 matmuls and convolutions (false keeps PyTorch's defaults)
    compile: bool = False  # torch.compile of G, D's loss, G's loss and the normalizer's per-update work and penalty
    cuda_graphs: bool = False  # compile in mode reduce-overhead: CUDA graphs of the compiled steps (implies compile)
    amp: Amp = Amp.none  # bf16: autocast of G and D; sigma, losses and gradient penalty in fp32
    fused_adam: bool = True  # Adam's fused implementation (the same update, one kernel for all parameters)
    # an exponential moving average of G's weights (beyond the paper; training/ema.py)
    ema: bool = False
    ema_decay: float = fraction(0.9999)
    ema_start: int = non_negative(1000)  # G updates before averaging starts (G_ema is a copy of G until then)


MetricName = StrEnum("MetricName", [(name, name) for name in SAMPLE_METRICS])  # eval.metrics
ProtocolName = StrEnum("ProtocolName", [(name, name) for name in PROTOCOLS])  # eval.protocol
# eval.detector: auto (digits-classifier for digits, else inception) or a detector by name
DetectorName = StrEnum("DetectorName", [(name, name) for name in ("auto", *DETECTORS)])


@dataclass
class EvalConfig:
    """Evaluation during training (train.eval_every) and the defaults of `sngan eval`."""

    protocol: ProtocolName = ProtocolName.paper  # metrics/protocol.py (paper Appendix B.1)
    detector: DetectorName = DetectorName.auto
    n_generated: Optional[int] = at_least(2, None)  # null = the protocol's count
    seed: int = 0
    batch_size: int = positive(250)
    inception_weights: Optional[str] = None  # or env SNGAN_INCEPTION_WEIGHTS
    quantize: Quantize = Quantize.truncate  # G's output -> uint8: the authors' astype(uint8) | round
    # beyond the paper's IS and FID (always computed): kid, pr (precision/recall), dc (density/coverage)
    metrics: List[MetricName] = field(default_factory=list)


@dataclass
class TrainRunConfig:
    dataset: DatasetConfig = MISSING
    arch: ArchConfig = MISSING
    norm: NormConfig = MISSING
    loss: LossConfig = MISSING
    setting: SettingConfig = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = non_negative(0)
    device: str = "auto"  # auto | cpu | cuda | cuda:N | cuda:free (one GPU per job of a local sweep)
    name: str = ""


def group_options(key: str) -> Optional[list]:
    """The dataclasses whose fields the config's top-level ``key`` may hold (every dataset's, every
    normalizer's options: those registered below), or None for a plain value (``seed``)."""
    groups = {"dataset": list(dataset_configs().values()), "arch": [a.config for a in architectures().values()],
              "norm": [normalizer.config for normalizer in normalizers().values()], "loss": [LossConfig],
              "setting": [SettingConfig], "train": [TrainConfig], "eval": [EvalConfig]}
    return groups.get(key)


def register_configs() -> None:
    """The schema of conf/train.yaml; the options of the norm, loss and dataset groups, one per entry
    of their registries; the schema of each architecture (``arch/schema/<name>``), which its YAML
    option (conf/arch/<name>.yaml) extends; and the schema the YAML options of the setting group extend."""
    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainRunConfig)
    for name, normalizer in normalizers().items():
        cs.store(group="norm", name=name, node=normalizer.config(name=name))
    for name in LOSSES:
        cs.store(group="loss", name=name, node=LossConfig(name=name))
    for name, options in dataset_configs().items():
        cs.store(group="dataset", name=name, node=options)
    for name, arch in architectures().items():
        cs.store(group="arch/schema", name=name, node=arch.config)
    cs.store(group="setting", name="schema", node=SettingConfig)


def check_group_names(cfg) -> None:
    """A group's name chooses its code, which needs the options of that name (``norm.name=gp``
    under ``norm=spectral`` would give the gradient penalty spectral norm's options, ``arch.name=resnet``
    under ``arch=cnn`` would build the ResNet from the CNN's keys)."""
    for group, options in (("arch", {name: a.config for name, a in architectures().items()}),
                           ("norm", {name: n.config for name, n in normalizers().items()}),
                           ("loss", {name: LossConfig for name in LOSSES}),
                           ("dataset", {name: type(c) for name, c in dataset_configs().items()})):
        name = cfg[group].name
        if name not in options:
            raise SnganError(f"{group}.name={name} is not allowed: choose one of {', '.join(options)}")
        if OmegaConf.get_type(cfg[group]) is not options[name]:
            raise SnganError(f"{group}.name={name} is not allowed with these {group} options: choose the {group} "
                             f"with {group}={name}")
