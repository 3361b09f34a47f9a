"""Endless, resumable streams of training batches.

The order is a fresh permutation per epoch drawn from (seed, epoch), so the stream's whole state is
two integers, saved in checkpoints: a resumed run sees exactly the batches a straight run would.
In-memory sets live on the device as uint8 and are batched by index there; the epoch's permutation
is copied to the device once per epoch, so a step does no host-to-device copy and no host sync.
Lazy sets stream through a DataLoader with workers and pinned memory.

Data-parallel runs (``world_size`` processes) walk the same permutation in global batches of
``batch_size * world_size`` images; process ``rank`` takes the rank-th slice of each. The state
(epoch, position) is therefore the same on every rank, and with one process nothing changes.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional, Tuple

import torch

from sngan_cli import SnganError
from sngan_cli.data import ImageSet
from sngan_cli.data.transforms import to_unit_range


EPOCH_SEED_STRIDE = 1_000_003  # epoch e of seed s is shuffled with seed s * stride + e: prime, more epochs than any run


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * EPOCH_SEED_STRIDE + epoch)
    return torch.randperm(n, generator=g)


class BatchStream:
    def __init__(self, data: ImageSet, batch_size: int, seed: int, device: torch.device, workers: int = 4,
                 rank: int = 0, world_size: int = 1, scaling: str = "exact") -> None:
        global_batch = batch_size * world_size
        if len(data) < global_batch:
            what = f"train.batch_size={batch_size}" + (f" x {world_size} processes" if world_size > 1 else "")
            raise SnganError(f"the dataset has {len(data)} images, fewer than {what}")
        self.data, self.batch_size, self.seed, self.device = data, batch_size, seed, device
        self.rank, self.world_size, self.global_batch = rank, world_size, global_batch
        self.workers, self.scaling = workers, scaling
        self.epoch, self.position = 0, 0
        self._loader: Optional[Iterator] = None
        if data.images is not None:
            self._images = data.images.to(device)
            self._labels = data.labels.to(device) if data.labels is not None else None
        self._set_order()

    def _set_order(self) -> None:
        order = epoch_permutation(len(self.data), self.seed, self.epoch)
        # in-memory sets: the permutation lives where the images are (one copy per epoch)
        self._order = order.to(self.device) if self.data.images is not None else order
        self._loader = None

    def state_dict(self) -> Dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._set_order()

    def _next_indices(self) -> torch.Tensor:
        if self.position + self.global_batch > len(self._order):  # drop the epoch's incomplete tail
            self.epoch, self.position = self.epoch + 1, 0
            self._set_order()
        start = self.position + self.rank * self.batch_size
        idx = self._order[start:start + self.batch_size]
        self.position += self.global_batch
        return idx

    def next(self) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """A batch of images in [-1, 1] on the device (``arch.data_scaling``), and labels (or None)."""
        idx = self._next_indices()
        if self.data.images is not None:
            labels = self._labels[idx] if self._labels is not None else None
            return to_unit_range(self._images[idx], self.scaling), labels
        images, labels = self._lazy_batch()
        return to_unit_range(images, self.scaling), labels

    def _lazy_batch(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._loader is None:
            rest = self._order[self.position - self.global_batch:]
            n_batches = len(rest) // self.global_batch
            # this rank's slice of every remaining global batch of the epoch
            order = rest[:n_batches * self.global_batch].view(n_batches, self.world_size, self.batch_size)
            order = order[:, self.rank].reshape(-1).tolist()
            loader = torch.utils.data.DataLoader(
                self.data.lazy, batch_size=self.batch_size, sampler=order, num_workers=self.workers,
                pin_memory=self.device.type == "cuda", persistent_workers=False)
            self._loader = iter(loader)
        images, labels = next(self._loader)
        return images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
