"""The real side of the FID (paper Appendix B.1; the README's Evaluation section): the statistics of
a protocol's real images of a dataset, of an image folder, or of a given ``.npz``.

Statistics of a dataset are cached (stats_cache) under a key made from its config alone: dataset,
split, resolution, resize filter, the protocol's count of real images, the seed that picks them and
the detector with its weights; for an image folder also its path and contents (every file's name,
size and modification time: data/folder.py's folder_fingerprint), so replacing or adding images
recomputes them. The dataset is loaded only when the statistics are not cached yet, so statistics
made by ``sngan stats`` serve evaluations on a node without the dataset. The record stored with
them adds what computing them learned: how many real images they hold.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Iterator, List, Optional

import torch
from omegaconf import OmegaConf

from sngan_cli import SnganError
from sngan_cli.data import ImageSet, load_dataset
from sngan_cli.data.folder import folder_fingerprint
from sngan_cli.metrics.detector import Detector
from sngan_cli.metrics.evaluate import compute_features
from sngan_cli.metrics.frechet import feature_statistics
from sngan_cli.metrics.protocol import Protocol
from sngan_cli.metrics.stats_cache import (ReferenceStats, cached_reference_stats, load_reference_stats,
                                           reference_record)

REAL_SUBSET_SEED = 0  # which real images a protocol with fewer than all of them uses
BATCH = 250


def dataset_names() -> List[str]:
    """The datasets of the ``dataset`` config group (``sngan train dataset=NAME``): the registered ones."""
    from sngan_cli.data import configs

    return sorted(configs())


def dataset_config(name: str, **given: Any) -> Dict[str, Any]:
    """The ``dataset`` group as ``sngan train dataset=NAME`` composes it (resolution, split, root,
    ...), with the ``given`` values that are not None in its place."""
    from sngan_cli.config import compose

    if name not in dataset_names():
        raise SnganError(f"dataset={name} is unknown: choose one of {', '.join(dataset_names())}")
    dataset = OmegaConf.to_container(compose([f"dataset={name}"]).dataset, resolve=True)
    dataset.update({key: value for key, value in given.items() if value is not None})
    return dataset


def subset(n_total: int, n: Optional[int]) -> torch.Tensor:
    """The indices of the n real images a protocol uses (all when None or fewer), fixed by REAL_SUBSET_SEED."""
    if n is None or n >= n_total:
        return torch.arange(n_total)
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))[:n].sort().values


def real_batches(data: ImageSet, indices: torch.Tensor) -> Iterator[torch.Tensor]:
    for chunk in indices.split(BATCH):
        if data.images is not None:
            yield data.images[chunk]
        else:
            yield torch.stack([data.lazy[int(i)][0] for i in chunk])


def dataset_key(detector: Detector, dataset: Dict[str, Any], protocol: Protocol) -> Dict[str, Any]:
    """What the statistics of the protocol's real images of ``dataset`` depend on, from its config
    (and, for an image folder, its contents): the cache key."""
    resized = {} if dataset.get("antialias", True) else {"antialias": False}
    folder = {}
    if dataset["name"] == "folder":
        root, recursive = dataset["root"], dataset.get("recursive", True)
        folder = {"root": os.path.abspath(root), "contents_sha256": folder_fingerprint(root, recursive)}
    return reference_record(dataset=dataset["name"], split=dataset.get("split") or protocol.reference_split,
                            resolution=dataset["resolution"], **resized, n_reference=protocol.n_reference,
                            detector=detector, subset_seed=REAL_SUBSET_SEED, **folder)


def dataset_reference(detector: Detector, dataset: Dict[str, Any], protocol: Protocol,
                      with_features: bool = False) -> ReferenceStats:
    """Statistics of the protocol's real images of a dataset (its training split), cached, with the
    features themselves when ``with_features``; the dataset is read only to compute them."""
    def compute() -> ReferenceStats:
        data = load_dataset(dataset["name"], dataset.get("root", "data"), dataset["resolution"],
                            dataset.get("download", True), recursive=dataset.get("recursive", True),
                            **{k: dataset[k] for k in ("split", "antialias") if k in dataset})
        indices = subset(len(data), protocol.n_reference)
        if protocol.n_reference is not None and len(indices) < protocol.n_reference:
            warnings.warn(f"{dataset['name']} has {len(data)} images, fewer than the {protocol.n_reference} real "
                          f"images of protocol={protocol.name}: using all of them")
        features = compute_features(detector, lambda: real_batches(data, indices))[0]
        return ReferenceStats(*feature_statistics(features), {"n_samples": len(indices)}, features)

    return cached_reference_stats(dataset_key(detector, dataset, protocol), compute, with_features=with_features)


def reference_from_argument(reference: str, detector: Detector, protocol: Protocol, resolution: int,
                            data_root: Optional[str], with_features: bool = False) -> ReferenceStats:
    """``reference=`` as FILE.npz (precomputed mu/sigma), DIR (a folder of images) or a dataset name."""
    if reference.endswith(".npz"):
        if with_features:
            raise SnganError(f"reference={reference} holds only mu and sigma; KID, precision/recall and "
                             f"density/coverage need the real images: give reference=DIR or a dataset name")
        return load_reference_stats(reference, detector.feature_dim)
    if os.path.isdir(reference):
        return dataset_reference(detector, {"name": "folder", "root": reference, "resolution": resolution,
                                            "download": False}, protocol, with_features)
    if os.path.lexists(reference) or os.sep in reference:  # a path, not a dataset name
        raise SnganError(f"reference={reference} is neither a directory of images nor a .npz file"
                         f"{'' if os.path.lexists(reference) else ' (it does not exist)'}")
    if reference not in dataset_names():
        raise SnganError(f"reference={reference} is not a directory of images, a .npz file or a dataset: "
                         f"choose one of {', '.join(dataset_names())}")
    return dataset_reference(detector, dataset_config(reference, root=data_root, resolution=resolution), protocol,
                             with_features)
