"""A training run's config: composed, checked and compared here, each rule stated once.

The types are the schema (config/schema.py, and the dataclass each normalizer, loss and dataset
declares next to its code): with them Hydra refuses an unknown key (``norm=spectral norm.clip=0.05``),
a value of the wrong type or a closed choice outside its Enum when the config is composed. This
module holds what a type cannot say:

- :func:`compose`: the one way the package composes a run's config (``sngan train``, ``sngan bench``,
  the tests and benchmarks), its errors one line each;
- :func:`validate`: the ranges each field declares (:func:`positive`, ...) and the checks across
  keys, run once per run, before any work starts;
- :func:`changes_numbers`: the keys that change a run's numbers, for the resume check
  (:func:`resumable`); :func:`changes_g_numbers`: those that change G's, for the report's grouping
  of seeds;
- :func:`name_suffix`, :func:`check_names`, :func:`register_resolvers`: the rules of a run's name,
  which becomes part of its directory;
- :func:`flatten`, :func:`get`, :func:`config_differences`, :func:`plain`: dotted keys and plain values.

It imports neither torch nor the registries (``sngan report`` reads configs without them);
config/schema.py does, when a config is composed.
"""
from __future__ import annotations

import dataclasses
import math
import re
from enum import Enum
from typing import Any, Callable, Dict, Iterator, List, Mapping, Sequence, Tuple

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

from sngan_cli import SnganError

GROUPS = ("dataset", "arch", "norm", "loss", "setting")


# ---------------------------------------------------------------------------------------------------
# Ranges: declared on the field, checked by validate()

def ranged(default: Any, allowed: str, ok: Callable[[Any], bool]) -> Any:
    """A dataclass field whose value must satisfy ``ok`` (validate(): '<key>=<value> is not allowed: it
    must be <allowed>'); None, an Optional field's "not set", is not checked."""
    return dataclasses.field(default=default, metadata={"allowed": (allowed, ok)})


def positive(default: Any = MISSING) -> Any:
    return ranged(default, "> 0", lambda v: v > 0)


def non_negative(default: Any = MISSING) -> Any:
    return ranged(default, ">= 0", lambda v: v >= 0)


def fraction(default: Any = MISSING) -> Any:
    """In [0, 1): Adam's betas, a leaky ReLU's slope."""
    return ranged(default, "in [0, 1)", lambda v: 0 <= v < 1)


def at_least(low: int, default: Any = MISSING) -> Any:
    return ranged(default, f">= {low}", lambda v: v >= low)


# ---------------------------------------------------------------------------------------------------
# The keys that change a run's numbers

# Keys whose value does not change a run's numbers: G's and D's weights and the losses at every
# step, the sample grids, and the uint8 images every score is taken on (eval.quantize). All other
# keys do: the seed, what is trained and how, and the speed options that change arithmetic
# (train.amp: bfloat16; train.tf32: TF32 matmuls and convolutions).
SAME_NUMBERS = (
    "name",  # labels the run directory
    "device",  # where the run trains (a resume may move it to another machine, whose kernels may round otherwise)
    "dataset.root", "dataset.download",  # where the data is
    "train.ckpt_every", "train.sample_every", "train.log_every", "train.eval_every", "train.n_samples_grid",
    "train.on_nan",  # what follows a NaN: a run that meets none is the same either way
    # speed options meant to run the same computation (docs/performance.md): the memory layout, the
    # compiler (with or without CUDA graphs) and Adam's fused kernel execute the same operations,
    # which a GPU may order differently in the last bits, as it may from one run to the next
    "train.channels_last", "train.compile", "train.cuda_graphs", "train.fused_adam",
    # how an evaluation samples and scores G (each record names its protocol, counts and detector)
    "eval.protocol", "eval.detector", "eval.n_generated", "eval.seed", "eval.batch_size", "eval.inception_weights",
    "eval.metrics",
)


def changes_numbers(key: str) -> bool:
    """Whether a dotted config key changes a run's numbers (SAME_NUMBERS lists the keys that do not).
    The resume check refuses such a change (:func:`resumable`)."""
    return key not in SAME_NUMBERS


# Keys that change only the numbers of G's moving average (training/ema.py): G's weights, losses and
# scores are the same with or without it, so runs that differ in them are seeds of one cell of the
# report's tables (which score G); a resume still refuses a change (G_ema's numbers would change).
EMA_ONLY = ("train.ema", "train.ema_decay", "train.ema_start")


def changes_g_numbers(key: str) -> bool:
    """Whether ``key`` changes G's numbers: one that changes the run's (:func:`changes_numbers`) but
    not in EMA_ONLY. The report counts runs that differ in one as different configurations."""
    return changes_numbers(key) and key not in EMA_ONLY


def resumable(key: str) -> bool:
    """Whether a resumed run may change ``key``: one that does not change the numbers, or
    ``train.steps``, to run further (the steps done keep their numbers; with setting.lr_decay=linear
    the learning rate of the steps to come then decays toward the new end)."""
    return key == "train.steps" or not changes_numbers(key)


# ---------------------------------------------------------------------------------------------------
# Dotted keys and plain values

def flatten(node: Any, prefix: str = "") -> Dict[str, Any]:
    """{dotted key: value} of every leaf of nested dicts (a DictConfig: resolved first); a list, such
    as ``eval.metrics``, is one value."""
    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=True)
    items = node.items() if isinstance(node, Mapping) else None
    if items is None:
        return {prefix[:-1]: node}
    out: Dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}{key}."))
    return out


def get(node: Any, key: str, default: Any = None) -> Any:
    """The value at a dotted key (``arch.d_width``) of a config or a plain dict, or ``default``."""
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def plain(config: Any) -> Any:
    """A config as plain dicts, lists, strings and numbers, resolved, closed choices by name: what a
    checkpoint stores (torch.load(weights_only=True) reads nothing else) and a resume compares."""
    if isinstance(config, (DictConfig, ListConfig)):
        return OmegaConf.to_container(config, resolve=True, enum_to_str=True)
    if isinstance(config, Mapping):
        return {key: plain(value) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return [plain(value) for value in config]
    return config.name if isinstance(config, Enum) else config


def config_differences(saved: Mapping, current: Mapping,
                       ignore: Callable[[str], bool] = lambda key: False) -> List[str]:
    """'key: saved -> current' for each dotted key whose values differ, except those ``ignore``
    accepts and those only ``saved`` has: keys this code's schema no longer has (a checkpoint of an
    older version saved every normalizer's options), which nothing reads."""
    a, b = flatten(plain(saved)), flatten(plain(current))
    return [f"{key}: {a.get(key, '<absent>')} -> {b[key]}" for key in sorted(b)
            if not ignore(key) and a.get(key, "<absent>") != b[key]]


# ---------------------------------------------------------------------------------------------------
# The run's name

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]*$")
MAX_NAME = 100  # the run directory's last part is seed<N>-<name>: file names stop at 255 bytes


def name_suffix(name: str) -> str:
    """'' -> '', 'abc' -> '-abc'; names that could leave the outputs root are refused."""
    if name in ("", None):
        return ""
    name = str(name)
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"name={name!r} is not allowed: use letters, digits and . _ + = , @ - "
                         f"(no '/', no '..', not starting with '.' or '-')")
    if len(name) > MAX_NAME:
        raise ValueError(f"name= is {len(name)} characters long: at most {MAX_NAME} are allowed (it becomes part "
                         f"of a directory name)")
    return f"-{name}"


def check_names(argv: Sequence[str]) -> None:
    """Refuse unsafe run names before Hydra derives a directory from them (sweeps included)."""
    for arg in argv:
        key, _, value = arg.lstrip("+~").partition("=")
        if key == "name":
            for name in value.split(","):
                try:
                    name_suffix(name)
                except ValueError as e:
                    raise SnganError(str(e)) from None


def register_resolvers() -> None:
    """``${sngan.name_suffix:${name}}``: the run directory's suffix (conf/train.yaml)."""
    OmegaConf.register_new_resolver("sngan.name_suffix", name_suffix, replace=True)


# ---------------------------------------------------------------------------------------------------
# Composition

QUOTING = ("quote a value with non-ASCII letters or any of , [ ] { } ( ) ' \" = : $ \\ for Hydra, inside the "
           "shell's quotes: 'dataset.root=\"/data/my images, 2018\"'")


def compose(overrides: Sequence[str] = (), hydra: bool = False) -> DictConfig:
    """The config of a run with these command-line overrides, composed from sngan_cli/conf and the
    registered schemas as ``sngan train`` composes it. A bad key, type, closed choice or option is a
    SnganError of one line naming it. ``hydra``: keep Hydra's own node (the run directory)."""
    from hydra import compose as hydra_compose, initialize_config_module
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    from sngan_cli.config.schema import register_configs

    register_configs()
    register_resolvers()
    overrides = list(overrides)
    try:
        with initialize_config_module("sngan_cli.conf", version_base="1.3"):
            return hydra_compose("train", overrides=overrides, return_hydra_config=hydra)
    except OverrideParseException as e:
        given = next((arg for arg in overrides if arg in str(e)), None)
        raise SnganError(f"{given or _one_line(e)} cannot be parsed as an override: {QUOTING}") from None
    except (HydraException, OmegaConfBaseException) as e:
        raise SnganError(_one_line(e)) from None


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        lines = lines[:1] + [str(cause).strip().splitlines()[0]]
        lines += _keys_allowed(cause)
    text = " ".join(lines).split(" Config search path")[0]
    return re.sub(r"(Available options in '[^']+':) (.*)",
                  lambda m: m.group(1) + " " + ", ".join(m.group(2).split()), text)


def _keys_allowed(error: BaseException) -> List[str]:
    """For a key the node lacks (``norm=spectral norm.clip=0.05``): the keys it has."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    schema = getattr(error, "object_type", None)
    if not isinstance(error, (ConfigAttributeError, ConfigKeyError)) or not dataclasses.is_dataclass(schema):
        return []
    node = str(getattr(error, "full_key", "") or "").rpartition(".")[0]
    return [f"(the keys of {node or 'the config'} here: {', '.join(f.name for f in dataclasses.fields(schema))})"]


# ---------------------------------------------------------------------------------------------------
# Validation

def validate(cfg) -> None:
    """What a type cannot express, before any work starts: every key has a value, every number is
    finite and in its field's range, the device and the architecture fit, and each group's options
    are those of its name. Raises SnganError naming the key, the value and what is allowed."""
    check_values(cfg)
    for key, value, (allowed, ok) in _ranged_fields(cfg):
        if value is not None and not ok(value):
            raise SnganError(f"{key}={value} is not allowed: it must be {allowed}")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+|:free)?", str(cfg.device)):
        raise SnganError(f"device={cfg.device} is not allowed: choose one of auto, cpu, cuda, cuda:N, "
                         f"cuda:free (the first GPU no other sngan run on this machine holds)")
    from sngan_cli.config.schema import check_group_names  # torch and the registries: loaded when needed
    from sngan_cli.models import check_arch

    check_group_names(cfg)
    check_arch(cfg.arch.name, cfg.dataset.resolution, cfg.arch.conditional)


def _ranged_fields(node, prefix: str = "") -> Iterator[Tuple[str, Any, Tuple[str, Callable[[Any], bool]]]]:
    """(dotted key, value, (allowed, ok)) of every field of ``node`` and the nodes in it that declares
    a range, in the schema's order (Hydra's own node excepted)."""
    schema = OmegaConf.get_type(node)
    ranges = {f.name: f.metadata["allowed"] for f in dataclasses.fields(schema)
              if "allowed" in f.metadata} if dataclasses.is_dataclass(schema) else {}
    for key in node:
        if key == "hydra" and not prefix:
            continue
        value = node[key]
        if isinstance(value, DictConfig):
            yield from _ranged_fields(value, f"{prefix}{key}.")
        elif key in ranges:
            yield f"{prefix}{key}", value, ranges[key]


def check_values(cfg) -> None:
    """Every key has a value and every number is finite, whatever the key (new ones included)."""
    # Hydra's own node (present when composed with return_hydra_config) is Hydra's to check
    ours = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    missing = sorted(OmegaConf.missing_keys(ours))
    if missing:
        unnamed = next((key for key in missing if key.endswith(".name") and key.split(".")[0] in GROUPS), None)
        if unnamed:
            group = unnamed.split(".")[0]
            raise SnganError(f"{unnamed} has no value: choose a {group} with {group}=NAME (a {group} schema is the "
                             f"typed schema the {group} options extend, not an option itself)")
        raise SnganError(f"{missing[0]} has no value: set {missing[0]}=...")
    for key, value in flatten(ours).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise SnganError(f"{key}={value} is not allowed: it must be a finite number")
