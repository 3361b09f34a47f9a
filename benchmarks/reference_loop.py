"""A plain-PyTorch GAN training loop: the yardstick for the runner's speed (benchmarks/train_speed.py).

What a careful user would write without sngan: eager modules, a DataLoader over a TensorDataset of
float images in [-1, 1] (shuffle, drop_last), batches copied to the device each step,
``torch.nn.utils.parametrizations.spectral_norm`` / ``weight_norm`` for SN / WN (torch's SN runs
one power iteration per forward in training mode, so D called on real and fake runs two per D
update), weight clipping, the gradient penalty and the orthonormal penalty written inline. The
networks are sngan's own classes (Tables 3-6), so both loops run the same architectures.
"""
from __future__ import annotations

import itertools
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

from sngan_cli.models import build_discriminator, build_generator
from sngan_cli.norms import build_normalizer, weight_layers

REFERENCE_NORMS = ("none", "spectral", "weight", "clip", "gp", "batch", "layer", "orthonormal")


class ReferenceGAN:
    def __init__(self, images_uint8: torch.Tensor, arch: str, resolution: int, norm: str, width: float,
                 batch_size: int, n_dis: int, device: torch.device, lr: float = 2e-4, betas=(0.5, 0.999),
                 adam_foreach: Optional[bool] = None) -> None:
        if norm not in REFERENCE_NORMS:
            raise ValueError(f"the reference loop has no {norm}")
        self.norm, self.n_dis, self.device, self.batch_size = norm, n_dis, device, batch_size
        feature_norm = build_normalizer({"name": norm}).feature_norm  # BN / LN layers of D: architecture
        self.G = build_generator(arch, resolution, 128, width).to(device)
        self.D = build_discriminator(arch, resolution, width, None, 0, feature_norm)
        for _, module in list(weight_layers(self.D)):
            if norm == "spectral":
                nn.utils.parametrizations.spectral_norm(module)
            elif norm == "weight":
                nn.utils.parametrizations.weight_norm(module)
            elif norm == "orthonormal":
                nn.init.orthogonal_(module.weight)
        self.D.to(device)
        # PyTorch's default Adam: foreach on CUDA, per parameter on the CPU (adam_foreach overrides)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas, foreach=adam_foreach)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas, foreach=adam_foreach)
        dataset = torch.utils.data.TensorDataset(images_uint8.float() / 127.5 - 1)
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                             pin_memory=device.type == "cuda")
        self.batches: Iterator = itertools.chain.from_iterable(itertools.repeat(loader))

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor) -> Optional[torch.Tensor]:
        if self.norm == "gp":
            eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(x_hat).sum(), x_hat, create_graph=True)
            return 10 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        if self.norm == "orthonormal":
            total = 0
            for _, m in weight_layers(self.D):
                w = m.weight.flatten(1)
                w = w.t() if w.shape[0] > w.shape[1] else w
                total = total + (w @ w.t() - torch.eye(w.shape[0], device=w.device)).pow(2).sum()
            return 1e-4 * total
        return None

    def step(self) -> torch.Tensor:
        """One generator update with its n_dis discriminator updates; returns G's loss (on device)."""
        for _ in range(self.n_dis):
            (real,) = next(self.batches)
            real = real.to(self.device, non_blocking=True)
            with torch.no_grad():
                fake = self.G(torch.randn(self.batch_size, 128, device=self.device))
            loss = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
            penalty = self._penalty(real, fake)
            if penalty is not None:
                loss = loss + penalty
            self.opt_D.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_D.step()
            if self.norm == "clip":
                with torch.no_grad():
                    for p in self.D.parameters():
                        p.clamp_(-0.01, 0.01)
        g_loss = F.softplus(-self.D(self.G(torch.randn(2 * self.batch_size, 128, device=self.device)))).mean()
        self.opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_G.step()
        return g_loss.detach()
