"""A synthetic tree of finished runs for the report tests: the files training and evaluation write
(.hydra/config.yaml, status.json, eval.json, metrics.jsonl), with numbers chosen by the test."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from omegaconf import OmegaConf

from sngan_cli.reporting.methods import table1_n_dis
from tests.conftest import compose_train

METHODS = {  # the method presets' (arch, norm, loss)
    "clip": ("cnn", "clip", "standard"), "wgan_gp": ("cnn", "gp", "wasserstein"),
    "weight_norm": ("cnn", "weight", "standard"), "sn_gan": ("cnn", "spectral", "standard"),
    "sn_gan_hinge": ("cnn", "spectral", "hinge"), "orthonormal": ("cnn", "orthonormal", "standard"),
    "none": ("cnn", "none", "standard"), "table7_sn": ("cnn", "spectral_gamma", "wasserstein"),
    "table7_wn": ("cnn", "weight_gamma", "wasserstein"),
    "resnet_sn_gan_hinge": ("resnet", "spectral", "hinge"),
}
RECORD = {"protocol": "paper", "detector": "inception-2015-12-05", "weights_sha256": "6726825d" + "0" * 56,
          "n_generated": 5000, "n_real": 10000, "splits": 10, "reference": "cifar10/train", "code_version": "0.1.0"}


@pytest.fixture(scope="session")
def base_config() -> Dict[str, Any]:
    return OmegaConf.to_container(compose_train(), resolve=True)


def _set(config: Dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        config = config[part]
    config[last] = value


def write_run(root: Path, base: Dict[str, Any], rel: str, method: str = "sn_gan", setting: str = "C", seed: int = 0,
              *, dataset: str = "cifar10", is_: Optional[float] = None, fid: Optional[float] = None, step: int = 100,
              steps: int = 100,
              metrics: Optional[List[Dict[str, Any]]] = None, status: str = "finished", error: Optional[str] = None,
              record: Optional[Dict[str, Any]] = None, **overrides: Any) -> Path:
    """A run directory ``root/rel`` trained for ``steps`` (config), now at ``step`` (status, eval.json);
    ``overrides`` are config keys with ``__`` for dots (arch__d_width=1.5)."""
    run = root / rel
    config = copy.deepcopy(base)
    arch, norm, loss = METHODS[method]
    for key, value in {"dataset.name": dataset, "arch.name": arch, "norm.name": norm, "loss.name": loss,
                       "setting.name": setting, "setting.n_dis": table1_n_dis()[setting], "seed": seed,
                       "train.steps": steps, **{k.replace("__", "."): v for k, v in overrides.items()}}.items():
        _set(config, key, value)
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(config), run / ".hydra" / "config.yaml")
    state = {"status": status, "step": step, **({"error": error} if error else {})}
    (run / "status.json").write_text(json.dumps(state))
    if is_ is not None:
        (run / "eval.json").write_text(json.dumps({
            "inception_score_mean": is_, "inception_score_std": 0.1, "fid": fid, "step": step,
            "record": record or RECORD}))
    if metrics:
        (run / "metrics.jsonl").write_text("".join(json.dumps({"record": RECORD, **m}) + "\n" for m in metrics))
    return run


@pytest.fixture
def make_run(tmp_path: Path, base_config):
    """make_run(rel, method, setting, seed, is_=, fid=, ...) -> a run directory under tmp_path/runs."""
    return lambda rel, *args, **kwargs: write_run(tmp_path / "runs", base_config, rel, *args, **kwargs)
