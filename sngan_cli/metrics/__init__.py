"""Evaluation: Inception Score and FID as the paper computes them (Sec. 4, Appendix B.1), in one home.

- evaluate: scoring a stream of generated images against a reference, and the one result it writes
- reference: the real statistics of a dataset, an image folder or a given .npz
- protocol: how many images each number uses; registry: detectors by name, the one factory
- detector: the detector interface; tf_inception: the TF 2015-12-05 Inception and its weights;
  digits_classifier: the offline stand-in for the embedded digits
- frechet: Fréchet distance and feature statistics (float64); inception_score: IS over splits
- stats_cache: cached real statistics on disk
"""
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.evaluate import compute_features, reference_statistics, scalars, score
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance
from sngan_cli.metrics.inception_score import inception_score
from sngan_cli.metrics.protocol import PROTOCOLS, Protocol, get_protocol
from sngan_cli.metrics.registry import DETECTORS, build_detector, detector_name
from sngan_cli.metrics.stats_cache import (
    ReferenceStats,
    cached_reference_stats,
    load_reference_stats,
    reference_record,
)
from sngan_cli.metrics.tf_inception import WeightsUnavailable

__all__ = [
    "DETECTORS",
    "PROTOCOLS",
    "Detector",
    "Protocol",
    "ReferenceStats",
    "WeightsUnavailable",
    "build_detector",
    "cached_reference_stats",
    "compute_features",
    "detector_name",
    "feature_statistics",
    "frechet_distance",
    "get_protocol",
    "inception_score",
    "load_reference_stats",
    "reference_record",
    "reference_statistics",
    "scalars",
    "score",
]
