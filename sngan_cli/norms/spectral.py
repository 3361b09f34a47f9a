"""Spectral normalization (Sec. 2.1, Algorithm 1): W_SN = K * W / sigma(W).

sigma(W) = u^T W v with u, v from power iteration on W seen as d_out x (d_in*h*w). u and v are
persistent buffers (saved in checkpoints), refreshed by ``n_power_iterations`` steps at one of two
moments (``norm.power_iteration``, docs/fidelity.md):

- ``every_forward`` (default, the authors' code): every call of D in training mode refreshes u, v
  first, then normalizes with them, as Chainer's SN layers do. D is called on the real and the fake
  batch separately and once more in the G update: 2 n_dis + 1 refreshes per G update (one more per
  D update with a gradient penalty). Eval mode never refreshes.
- ``every_update`` (Algorithm 1's text): once per D update, before it; every call of D within an
  update (real, fake, gradient penalty, the G update) then sees the same sigma.

Both halves are written for few tensor operations, since these small networks are launch-bound on a
GPU: the normalization is one autograd Function whose backward is the closed form of Eq. (12)
(u and v constant), and the power iteration updates every layer's u (and v) with one batch of
``torch._foreach_*`` operations instead of a norm, a clamp and a division per layer.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from sngan_cli.config import positive
from sngan_cli.norms import NormConfig, Normalizer, raw_weight, register, weight_layers


class PowerIteration(StrEnum):
    """``norm.power_iteration``: when u and v are refreshed (the module's docstring)."""

    every_forward = "every_forward"  # every training-mode call of D (the authors' code)
    every_update = "every_update"  # once per D update, before it (Algorithm 1's text)


@dataclass
class SpectralConfig(NormConfig):
    n_power_iterations: int = positive(1)  # power-iteration steps each time u is refreshed
    power_iteration: PowerIteration = PowerIteration.every_forward
    lipschitz: float = positive(1.0)  # target spectral norm K of each layer


class _DivideBySigma(torch.autograd.Function):
    """W -> K * W / sigma(W), sigma(W) = u^T W v with u, v held constant (Algorithm 1).

    Backward (Eq. 12): dL/dW = (K * G - <G, W_SN> * u v^T) / sigma, with G = dL/dW_SN and W_SN the
    output: the gradient autograd would give through mv, dot and the division, in four operations
    instead of about fifteen."""

    @staticmethod
    def forward(weight: torch.Tensor, u: torch.Tensor, v: torch.Tensor, lipschitz: float):
        sigma = torch.dot(u, torch.mv(weight.flatten(1), v))
        return weight / sigma if lipschitz == 1.0 else weight * (lipschitz / sigma), sigma

    @staticmethod
    def setup_context(ctx, inputs, output):  # the separate form torch.func transforms need (gp.py)
        _, u, v, ctx.lipschitz = inputs
        out, sigma = output
        ctx.mark_non_differentiable(sigma)
        ctx.set_materialize_grads(False)  # no zero tensor made for sigma's (absent) gradient
        ctx.save_for_backward(out, u, v, sigma)

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _):
        if grad is None:  # the normalized weight got no gradient (grads are not materialized)
            return None, None, None, None
        out, u, v, sigma = ctx.saved_tensors
        along_out = torch.vdot(grad.flatten(), out.flatten())
        scaled = grad if ctx.lipschitz == 1.0 else grad * ctx.lipschitz
        grad_weight = torch.addcmul(scaled, torch.outer(u, v).view_as(grad), along_out, value=-1) / sigma
        return grad_weight, None, None, None


def divide_by_sigma(weight: torch.Tensor, u: torch.Tensor, v: torch.Tensor, lipschitz: float = 1.0) -> torch.Tensor:
    """K * W / (u^T W v), u and v held constant, with the closed-form backward of Eq. (12)."""
    return _DivideBySigma.apply(weight, u, v, lipschitz)[0]


def normalize_into(targets, vectors, eps: float) -> None:
    """targets[i] <- vectors[i] / max(||vectors[i]||, eps), for all i in a few foreach operations."""
    norms = torch._foreach_norm(vectors)
    torch._foreach_clamp_min_(norms, eps)
    torch._foreach_div_(vectors, norms)
    torch._foreach_copy_(targets, vectors)


class SpectralNormWeight(nn.Module):
    """Parametrization W -> K * W / (u^T W v); with ``refresh_steps`` > 0, each training-mode call
    first runs that many power-iteration steps on u, v (``power_iteration=every_forward``)."""

    def __init__(self, weight: torch.Tensor, lipschitz: float = 1.0, eps: float = 1e-12,
                 refresh_steps: int = 0) -> None:
        super().__init__()
        rows, cols = weight.shape[0], weight[0].numel()
        self.lipschitz = lipschitz
        self.eps = eps
        self.refresh_steps = refresh_steps
        self.register_buffer("u", F.normalize(weight.new_empty(rows).normal_(), dim=0, eps=eps))
        self.register_buffer("v", F.normalize(weight.new_empty(cols).normal_(), dim=0, eps=eps))

    def sigma(self, weight: torch.Tensor) -> torch.Tensor:
        return torch.dot(self.u, weight.flatten(1) @ self.v)

    @torch.no_grad()
    def power_iteration(self, weight: torch.Tensor, steps: int) -> None:
        """``steps`` updates of u, v in place. Through ``.data``: a call that already normalized
        with u, v keeps the values it saved for its backward (eager: clones; compiled graphs save
        their own), so the refresh need not count as a change of them."""
        matrix = weight.detach().flatten(1)
        for _ in range(steps):
            self.v.data.copy_(F.normalize(torch.mv(matrix.t(), self.u), dim=0, eps=self.eps))
            self.u.data.copy_(F.normalize(torch.mv(matrix, self.v), dim=0, eps=self.eps))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):  # sigma in fp32, under train.amp too
            if self.refresh_steps and self.training:
                self.power_iteration(weight, self.refresh_steps)
                # this call's u, v: the next call refreshes the buffers before this one's backward runs
                return divide_by_sigma(weight, self.u.clone(), self.v.clone(), self.lipschitz)
            return divide_by_sigma(weight, self.u, self.v, self.lipschitz)


@contextlib.contextmanager
def refreshed_before(D: nn.Module) -> Iterator[None]:
    """For a call of D that may not change buffers (inside a ``torch.func`` transform: the gradient
    penalty's): the refresh that call would run (``every_forward``) runs here, before it, and the
    call itself then normalizes without refreshing. The same numbers, in the order of the code.
    Nested, the inner one does nothing."""
    layers = [(module, sn) for _, module, sn in spectral_layers(D) if sn.refresh_steps and sn.training]
    for module, sn in layers:
        sn.power_iteration(raw_weight(module), sn.refresh_steps)
    saved = [sn.refresh_steps for _, sn in layers]
    for _, sn in layers:
        sn.refresh_steps = 0
    try:
        yield
    finally:
        for (_, sn), steps in zip(layers, saved):
            sn.refresh_steps = steps


def spectral_layers(D: nn.Module):
    """(name, layer, SpectralNormWeight) for every spectrally normalized layer of D."""
    for name, module in weight_layers(D):
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations.weight:
                if isinstance(p, SpectralNormWeight):
                    yield name, module, p


@register("spectral", SpectralConfig)
class SpectralNormalization(Normalizer):
    @property
    def refreshes_per_forward(self) -> bool:
        return self.params.power_iteration == PowerIteration.every_forward

    def refresh_outside(self, D: nn.Module) -> contextlib.AbstractContextManager:
        return refreshed_before(D)

    def apply(self, D: nn.Module) -> None:
        steps = self.params.n_power_iterations if self.refreshes_per_forward else 0
        for _, module in list(weight_layers(D)):
            parametrize.register_parametrization(
                module, "weight", SpectralNormWeight(module.weight, self.params.lipschitz, refresh_steps=steps))

    @torch.no_grad()
    def before_d_step(self, D: nn.Module) -> None:
        """``power_iteration=every_update``: ``n_power_iterations`` steps of v <- W^T u / ||W^T u||,
        u <- W v / ||W v|| for every layer at once."""
        if self.refreshes_per_forward:
            return
        layers = [(raw_weight(module).flatten(1), sn) for _, module, sn in spectral_layers(D)]
        if not layers:
            return
        eps = layers[0][1].eps
        for _ in range(self.params.n_power_iterations):
            normalize_into([sn.v for _, sn in layers], [torch.mv(m.t(), sn.u) for m, sn in layers], eps)
            normalize_into([sn.u for _, sn in layers], [torch.mv(m, sn.v) for m, sn in layers], eps)

    def sigma_estimates(self, D: nn.Module):
        with torch.no_grad():
            return {name: sn.sigma(raw_weight(module)) for name, module, sn in spectral_layers(D)}
