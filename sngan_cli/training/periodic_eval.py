"""Evaluation during training (``train.eval_every``): the schedule's glue around metrics/evaluate.py.
IS and FID of G at regular steps, logged as ``metrics/IS`` and ``metrics/FID``, appended to
``<run dir>/metrics.jsonl`` (one result of ``metrics.evaluate.score`` per line, the shape of
``eval.json``), with the best and the final results kept in ``<run dir>/metrics_summary.json``.

The detector and the real-data statistics are prepared once; the latents are the same at every
evaluation (``eval.seed``); the generated images never leave the device until the detector has them.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from sngan_cli import SnganError
from sngan_cli.atomic import write_json
from sngan_cli.images import to_uint8
from sngan_cli.metrics import build_detector, get_protocol, scalars, score
from sngan_cli.metrics.evaluate import needs_real_features, with_paper_metrics
from sngan_cli.metrics.reference import dataset_reference
from sngan_cli.run_dir import METRICS, SUMMARY
from sngan_cli.models.latent import draw_latent


class PeriodicEvaluator:
    def __init__(self, cfg: DictConfig, run_dir: str, device: torch.device) -> None:
        self.cfg, self.run_dir = cfg.eval, run_dir
        self.protocol = get_protocol(cfg.eval.protocol)
        self.n = cfg.eval.n_generated or self.protocol.n_generated
        self.detector = build_detector(cfg.eval.detector, dataset=cfg.dataset.name,
                                       inception_weights=cfg.eval.inception_weights, device=device)
        self.metrics = with_paper_metrics([str(m) for m in cfg.eval.metrics])
        self.reference = dataset_reference(self.detector, OmegaConf.to_container(cfg.dataset), self.protocol,
                                           with_features=needs_real_features(self.metrics))
        self.summary_path = os.path.join(run_dir, SUMMARY)
        self.summary: Dict[str, Any] = {}
        if os.path.exists(self.summary_path):
            try:
                with open(self.summary_path) as f:
                    self.summary = json.load(f)
            except (OSError, ValueError) as e:
                raise SnganError(f"{self.summary_path} cannot be read ({type(e).__name__}: {e}); move it away to "
                                 f"start a new summary of this run's evaluations") from None
            if not isinstance(self.summary, dict):
                raise SnganError(f"{self.summary_path} is not a summary of evaluations (a JSON object); move it away")

    @torch.no_grad()
    def _images(self, gan, z: torch.Tensor, y: Optional[torch.Tensor]) -> Iterator[torch.Tensor]:
        for start in range(0, self.n, self.cfg.batch_size):
            end = start + self.cfg.batch_size
            yield to_uint8(gan.sample(z[start:end], None if y is None else y[start:end]), self.cfg.quantize)

    def __call__(self, gan, step: int) -> Dict[str, float]:
        z, y = draw_latent(self.n, gan.z_dim, gan.z_distribution, gan.num_classes, device=gan.device,
                           generator=torch.Generator().manual_seed(self.cfg.seed))
        result = score(self.detector, lambda: self._images(gan, z, y), self.reference, self.protocol, self.n,
                       step=step, metrics=self.metrics, seed=self.cfg.seed, generator="G")
        with open(os.path.join(self.run_dir, METRICS), "a") as f:
            f.write(json.dumps(result) + "\n")
        self.summary["final"] = result
        best = keep_best(self.summary, result)
        write_json(self.summary_path, self.summary)
        return {**scalars(result), **best}


def keep_best(summary: Dict[str, Any], result: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """Fold ``result`` into ``summary``'s best-IS and best-FID results; return ``metrics/IS_best`` and
    ``metrics/FID_best`` (None before any FID)."""
    if result["inception_score_mean"] > summary.get("best_is", {}).get("inception_score_mean", -1.0):
        summary["best_is"] = result
    if result["fid"] is not None and result["fid"] < summary.get("best_fid", {}).get("fid", float("inf")):
        summary["best_fid"] = result
    return {"metrics/IS_best": summary["best_is"]["inception_score_mean"],
            "metrics/FID_best": summary.get("best_fid", {}).get("fid")}


def read_summary(run_dir: str) -> Dict[str, Any]:
    """A run's summary of its evaluations during training; empty when absent or not one (``sngan eval``
    only reads it, so an unreadable one is no error there)."""
    try:
        with open(os.path.join(run_dir, SUMMARY)) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in summary.items() if isinstance(v, dict)} if isinstance(summary, dict) else {}
