"""Our IS and FID against torch-fidelity's, on the same images and weights, offline.

The weights are random (calibrated) in the exact pt_inception layout, passed to torch-fidelity by
path, so agreement checks the whole pipeline: TF-1 resize, scaling, the patched network, the
unbiased logits, the statistics and the Fréchet distance. (Agreement with pytorch-fid's Fréchet
distance on the same features is in test_frechet.py.)
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity
from torch.utils.data import Dataset

from sngan_cli.metrics import feature_statistics, get_protocol, score
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.stats_cache import ReferenceStats

SPLITS = 2


class _Images(Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


@pytest.mark.slow
def test_is_and_fid_agree_with_torch_fidelity(
    inception_detector: Detector,
    inception_weights: Path,
    inception_images: tuple[torch.Tensor, torch.Tensor],
    inception_real_outputs: tuple[np.ndarray, np.ndarray],
) -> None:
    generated, real = inception_images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer samples than feature dimensions, by design here
        reference = ReferenceStats(*feature_statistics(inception_real_outputs[0]))
        everything = replace(get_protocol("standard"), is_splits=SPLITS, n_generated_fid=len(generated))
        ours = score(inception_detector, [generated], reference, everything, len(generated))
        theirs = torch_fidelity.calculate_metrics(
            input1=_Images(generated),
            input2=_Images(real),
            isc=True,
            fid=True,
            isc_splits=SPLITS,
            samples_shuffle=False,
            feature_extractor_weights_path=str(inception_weights),
            cuda=False,
            cache=False,
            save_cpu_ram=True,
            batch_size=len(generated),
            verbose=False,
        )
    assert ours["inception_score_mean"] > 1.05  # the random logits are informative enough to test
    assert ours["inception_score_mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-5)
    assert ours["inception_score_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-3, abs=1e-6)
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-5)

