"""Endless, resumable streams of training batches.

The order is a fresh permutation per epoch drawn from (seed, epoch), so the stream's whole state is
two integers, saved in checkpoints: a resumed run sees exactly the batches a straight run would.
In-memory sets live on the device as uint8 and are batched by index there; lazy sets stream
through a DataLoader with workers and pinned memory.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional, Tuple

import torch

from sngan_cli import SnganError
from sngan_cli.data import ImageSet
from sngan_cli.data.transforms import to_unit_range


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


class BatchStream:
    def __init__(self, data: ImageSet, batch_size: int, seed: int, device: torch.device, workers: int = 4) -> None:
        if len(data) < batch_size:
            raise SnganError(f"the dataset has {len(data)} images, fewer than train.batch_size={batch_size}")
        self.data, self.batch_size, self.seed, self.device = data, batch_size, seed, device
        self.workers = workers
        self.epoch, self.position = 0, 0
        self._order = epoch_permutation(len(data), seed, 0)
        self._loader: Optional[Iterator] = None
        if data.images is not None:
            self._images = data.images.to(device)
            self._labels = data.labels.to(device) if data.labels is not None else None

    def state_dict(self) -> Dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = epoch_permutation(len(self.data), self.seed, self.epoch)
        self._loader = None

    def _next_indices(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self._order):  # drop the epoch's incomplete tail
            self.epoch, self.position = self.epoch + 1, 0
            self._order = epoch_permutation(len(self.data), self.seed, self.epoch)
            self._loader = None
        idx = self._order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return idx

    def next(self) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """A batch of images in [-1, 1] on the device, and labels (or None)."""
        idx = self._next_indices()
        if self.data.images is not None:
            idx = idx.to(self.device)
            labels = self._labels[idx] if self._labels is not None else None
            return to_unit_range(self._images[idx]), labels
        images, labels = self._lazy_batch()
        return to_unit_range(images), labels

    def _lazy_batch(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._loader is None:
            order = self._order[self.position - self.batch_size:].tolist()
            n_full = len(order) // self.batch_size * self.batch_size
            loader = torch.utils.data.DataLoader(
                self.data.lazy, batch_size=self.batch_size, sampler=order[:n_full], num_workers=self.workers,
                pin_memory=self.device.type == "cuda", persistent_workers=False)
            self._loader = iter(loader)
        images, labels = next(self._loader)
        return images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
