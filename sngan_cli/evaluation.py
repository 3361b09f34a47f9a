"""Evaluating a generator or an image folder against real data (SPEC section 4, Appendix B.1):
which detector, which real images, how many of each, and the record that travels with each number.

The detector is the TF Inception, except for the embedded digits dataset, which is scored by the
offline `digits-classifier` (named as such in every output). Real-data statistics are computed once
per (dataset, split, resolution, sample count, detector weights) and cached; those of an image folder
also per its contents (every file's name, size and modification time: data/folder.py's
folder_fingerprint), so replacing or adding images recomputes them.
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Iterator, Optional

import numpy as np
import torch

from sngan_cli import SnganError
from sngan_cli.atomic import atomic_write
from sngan_cli.data import ImageSet, load_dataset
from sngan_cli.data.folder import decode_rgb, folder_fingerprint, list_images
from sngan_cli.metrics import (Detector, Protocol, ReferenceStats, build_detector, cached_reference_stats,
                               load_reference_stats, reference_record, reference_statistics, score)

REAL_SUBSET_SEED = 0  # which real images a protocol with fewer than all of them uses
BATCH = 250


def detector_name(dataset: str, requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    return "digits-classifier" if dataset == "digits" else "inception"


def make_detector(name: str, inception_weights: Optional[str], device: torch.device) -> Detector:
    return build_detector(name, inception_weights if name == "inception" else None, device=device)


def _subset(n_total: int, n: Optional[int]) -> torch.Tensor:
    if n is None or n >= n_total:
        return torch.arange(n_total)
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))[:n].sort().values


def real_batches(data: ImageSet, indices: torch.Tensor) -> Iterator[torch.Tensor]:
    for chunk in indices.split(BATCH):
        if data.images is not None:
            yield data.images[chunk]
        else:
            yield torch.stack([data.lazy[int(i)][0] for i in chunk])


def dataset_reference(detector: Detector, dataset: Dict[str, Any], protocol: Protocol) -> ReferenceStats:
    """Statistics of the protocol's real images of a dataset (its training split), cached."""
    data = load_dataset(dataset["name"], dataset.get("root", "data"), dataset["resolution"],
                        dataset.get("download", True), recursive=dataset.get("recursive", True),
                        **{k: dataset[k] for k in ("split", "antialias") if k in dataset})
    indices = _subset(len(data), protocol.n_reference)
    if protocol.n_reference is not None and len(indices) < protocol.n_reference:
        warnings.warn(f"{dataset['name']} has {len(data)} images, fewer than the {protocol.n_reference} real images "
                      f"of protocol={protocol.name}: using all of them")
    resized = {} if dataset.get("antialias", True) else {"antialias": False}
    record = reference_record(dataset=dataset["name"], split=dataset.get("split") or protocol.reference_split,
                              resolution=data.resolution, **resized,
                              n_samples=len(indices), detector=detector, subset_seed=REAL_SUBSET_SEED,
                              **(_folder_key(dataset) if dataset["name"] == "folder" else {}))
    return cached_reference_stats(record, lambda: reference_statistics(detector, lambda: real_batches(data, indices)))


def _folder_key(dataset: Dict[str, Any]) -> Dict[str, Any]:
    root, recursive = dataset["root"], dataset.get("recursive", True)
    return {"root": os.path.abspath(root), "contents_sha256": folder_fingerprint(root, recursive)}


def folder_batches(directory: str, option: str = "images") -> Iterator[torch.Tensor]:
    """uint8 RGB images of a folder at their own size (converted as for training: data/folder.py's
    to_rgb), batched by runs of equal size. Unreadable files are skipped and counted in one warning."""
    paths = list_images(directory, option=option)
    batch: list = []
    skipped = 0
    for path in paths:
        img = decode_rgb(path)
        if img is None:
            skipped += 1
            continue
        image = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
        if batch and (image.shape != batch[0].shape or len(batch) == BATCH):
            yield torch.stack(batch)
            batch = []
        batch.append(image)
    if batch:
        yield torch.stack(batch)
    if skipped:
        warnings.warn(f"{option}={directory}: skipped {skipped} of {len(paths)} files that could not be read")


def reference_from_argument(reference: str, detector: Detector, protocol: Protocol, resolution: int,
                            data_root: str) -> ReferenceStats:
    """``reference=`` as FILE.npz (precomputed mu/sigma), DIR (a folder of images) or a dataset name."""
    if reference.endswith(".npz"):
        return load_reference_stats(reference, detector.feature_dim)
    if os.path.isdir(reference):
        return dataset_reference(detector, {"name": "folder", "root": reference, "resolution": resolution,
                                            "download": False}, protocol)
    if os.path.lexists(reference) or os.sep in reference:  # a path, not a dataset name
        raise SnganError(f"reference={reference} is neither a directory of images nor a .npz file"
                         f"{'' if os.path.lexists(reference) else ' (it does not exist)'}")
    return dataset_reference(detector, {"name": reference, "root": data_root, "resolution": resolution}, protocol)


def evaluation_record(result: Dict[str, Any], protocol: Protocol, reference: Optional[ReferenceStats]) -> Dict[str, Any]:
    """The flat record of CONTRACT.md: counts, splits, reference, detector, weights hash, code version."""
    raw = result["record"]
    ref = reference.record if reference is not None else {}
    return {
        "protocol": protocol.name,
        "n_generated": raw["n_generated"],
        "n_generated_is": raw["n_generated_is"],
        "n_generated_fid": raw["n_generated_fid"],
        "splits": raw["is_splits"],
        "n_real": ref.get("n_samples"),
        "reference": (f"{ref['dataset']}/{ref['split']}" if "dataset" in ref else ref.get("source")),
        "reference_file": ref.get("source"),  # the statistics file used: the cache entry or the given .npz
        "detector": raw["detector"],
        "weights_sha256": raw["detector_weights_sha256"],
        "code_version": raw["code_version"],
    }


def write_json(path: str, payload: Dict[str, Any]) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(payload, indent=2) + "\n").encode()))


def score_batches(detector: Detector, batches, reference: Optional[ReferenceStats], protocol: Protocol,
                  n_generated: int) -> Dict[str, Any]:
    if n_generated < protocol.is_splits:
        raise SnganError(f"{n_generated} images are too few: the Inception Score of protocol={protocol.name} needs "
                         f"at least {protocol.is_splits}, one per split")
    try:
        result = score(detector, batches, reference, n_generated, protocol.is_splits, protocol.n_generated_fid)
    except ValueError as e:  # statistics that are not valid covariances, features of the wrong shape
        source = reference.record.get("source", "the reference") if reference is not None else "the images"
        raise SnganError(f"cannot score against {source}: {str(e).splitlines()[0] if str(e) else e!r}") from None
    if result["fid"] is not None and not np.isfinite(result["fid"]):
        raise SnganError("the FID is not finite; the generated images may be degenerate")
    return {"inception_score_mean": result["inception_score_mean"],
            "inception_score_std": result["inception_score_std"],
            "fid": result["fid"],
            "record": evaluation_record(result, protocol, reference)}
