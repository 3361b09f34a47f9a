"""The interface every feature detector of the evaluation offers (paper Sec. 4, Appendix B.1).

A detector maps uint8 RGB images [N, 3, H, W] to (features [N, F], logits [N, C]): FID uses the
features, the Inception Score softmax(logits). It names itself and the SHA-256 of its weights so
every reported number can say what produced it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """Full float32 precision for convolutions and matmuls (no TF32) and no cuDNN autotuning.

    Metrics must not depend on what the training loop chose for speed, nor on the batch size
    (autotuning may pick a different algorithm for each shape).
    """
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        with torch.backends.cudnn.flags(
            enabled=torch.backends.cudnn.enabled, benchmark=False, deterministic=True, allow_tf32=False
        ):
            yield
    finally:
        torch.set_float32_matmul_precision(previous)


class Detector:
    """A frozen network plus what identifies it, run batch by batch on its device."""

    def __init__(
        self,
        network: nn.Module,
        *,
        name: str,
        weights_sha256: str,
        feature_dim: int,
        num_classes: int,
        device: torch.device | str = "cpu",
        batch_size: int = 64,
    ) -> None:
        self.device = torch.device(device)
        self.network = network.to(self.device).eval().requires_grad_(False)
        self.name = name
        self.weights_sha256 = weights_sha256
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"Detector({self.name!r}, sha256={self.weights_sha256[:12]}…, device={self.device})"

    @torch.no_grad()
    def features_and_logits(
        self, images: torch.Tensor, batch_size: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 CPU (features [N, F], logits [N, C]) of uint8 RGB images [N, 3, H, W].

        The network always sees chunks of exactly ``self.batch_size`` images (the last one padded
        with black images whose outputs are dropped): CPU and GPU kernels may pick another
        algorithm for another batch shape, so this keeps every image's features independent of how
        the caller batched the images (``batch_size`` only splits the caller's images).
        """
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(
                f"{self.name} expects uint8 RGB images shaped [N, 3, H, W], got {images.dtype} {tuple(images.shape)}"
            )
        features, logits = [], []
        with exact_float32():
            for part in images.split(batch_size or self.batch_size):
                for chunk in part.split(self.batch_size):
                    n = len(chunk)
                    if n < self.batch_size:
                        chunk = torch.cat([chunk, chunk.new_zeros((self.batch_size - n, *chunk.shape[1:]))])
                    f, l = self.network(chunk.to(self.device))
                    features.append(f[:n].float().cpu())
                    logits.append(l[:n].float().cpu())
        if not features:
            return torch.empty(0, self.feature_dim), torch.empty(0, self.num_classes)
        return torch.cat(features), torch.cat(logits)
