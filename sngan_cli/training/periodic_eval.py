"""Evaluation during training (``train.eval_every``): IS and FID of G at regular steps, logged as
``metrics/IS`` and ``metrics/FID``, appended to ``<run dir>/metrics.jsonl``, with the best and the
final values and their steps kept in ``<run dir>/metrics_summary.json``.

The detector and the real-data statistics are prepared once; the generated images never leave
the device until the detector has them.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from sngan_cli import SnganError
from sngan_cli.evaluation import dataset_reference, detector_name, make_detector, score_batches, write_json
from sngan_cli.images import to_uint8
from sngan_cli.metrics import get_protocol
from sngan_cli.models.latent import draw_z


class PeriodicEvaluator:
    def __init__(self, cfg: DictConfig, run_dir: str, device: torch.device) -> None:
        self.cfg, self.run_dir = cfg.eval, run_dir
        self.protocol = get_protocol(cfg.eval.protocol)
        self.n = cfg.eval.n_generated or self.protocol.n_generated
        self.detector = make_detector(detector_name(cfg.dataset.name, cfg.eval.detector),
                                      cfg.eval.inception_weights, device)
        self.reference = dataset_reference(self.detector, OmegaConf.to_container(cfg.dataset), self.protocol)
        self.summary_path = os.path.join(run_dir, "metrics_summary.json")
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
    def _images(self, gan, z: torch.Tensor, y: Optional[torch.Tensor]):
        for start in range(0, self.n, self.cfg.batch_size):
            end = start + self.cfg.batch_size
            yield to_uint8(gan.sample(z[start:end], None if y is None else y[start:end]), self.cfg.quantize)

    def __call__(self, gan, step: int) -> Dict[str, float]:
        g = torch.Generator().manual_seed(self.cfg.seed)
        z = draw_z(self.n, gan.z_dim, gan.z_distribution, gan.device, generator=g)
        y = torch.randint(gan.num_classes, (self.n,), generator=g).to(gan.device) if gan.num_classes else None
        result = {"step": step, **score_batches(self.detector, lambda: self._images(gan, z, y), self.reference,
                                                self.protocol, self.n)}
        with open(os.path.join(self.run_dir, "metrics.jsonl"), "a") as f:
            f.write(json.dumps(result) + "\n")
        self.summary["final"] = result
        if result["inception_score_mean"] > self.summary.get("best_is", {}).get("inception_score_mean", -1.0):
            self.summary["best_is"] = result
        if result["fid"] < self.summary.get("best_fid", {}).get("fid", float("inf")):
            self.summary["best_fid"] = result
        write_json(self.summary_path, self.summary)
        return {"metrics/IS": result["inception_score_mean"], "metrics/FID": result["fid"],
                "metrics/IS_best": self.summary.get("best_is", {}).get("inception_score_mean"),
                "metrics/FID_best": self.summary.get("best_fid", {}).get("fid")}
