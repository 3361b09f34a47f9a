"""Evaluation: Inception Score and FID as the paper computes them (SPEC section 4).

- frechet: Fréchet distance and feature statistics (float64)
- inception_score: IS over splits (Salimans et al. 2016)
- detector / registry: the detector interface and detectors by name
- tf_inception: the TF 2015-12-05 Inception and its weights; digits_classifier: the offline stand-in
- stats_cache: cached real-data statistics; evaluate: scoring with records; protocol: presets
"""
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.evaluate import compute_features, quantize, reference_statistics, score
from sngan_cli.metrics.frechet import feature_statistics, frechet_distance
from sngan_cli.metrics.inception_score import inception_score
from sngan_cli.metrics.protocol import PROTOCOLS, Protocol, get_protocol
from sngan_cli.metrics.registry import DETECTORS, build_detector
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
    "feature_statistics",
    "frechet_distance",
    "get_protocol",
    "inception_score",
    "load_reference_stats",
    "quantize",
    "reference_record",
    "reference_statistics",
    "score",
]
