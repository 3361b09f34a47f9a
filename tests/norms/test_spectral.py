import pytest
import torch
from torch import nn

from sngan_cli.norms import build_normalizer
from sngan_cli.norms.spectral import spectral_layers


def exact_sigma(module: nn.Module) -> float:
    return float(torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2))


# Factories, not layers: each case builds its own layer from a fixed seed (a layer shared
# between cases would collect one parametrization per case, with weights drawn from whatever
# RNG state test collection left behind).
@pytest.mark.parametrize("make_layer", [
    lambda: nn.Linear(17, 5),
    lambda: nn.Conv2d(3, 7, 3),
    lambda: nn.Conv2d(5, 2, (3, 1)),  # odd kernel shape
    lambda: nn.Conv2d(64, 1, 4),
], ids=["linear", "conv3x3", "conv3x1", "conv4x4"])
@pytest.mark.parametrize("K", [1.0, 2.5])
def test_normalized_weight_has_spectral_norm_K_after_warmup(make_layer, K):
    torch.manual_seed(0)
    layer = make_layer()
    D = nn.Sequential(layer)
    sn = build_normalizer(dict(name="spectral", lipschitz=K, power_iteration="every_update"))
    sn.apply(D)
    # one power iteration per update: the error shrinks as (sigma_2 / sigma_1) ** (2 * steps)
    for _ in range(200):
        sn.before_d_step(D)
    assert abs(exact_sigma(layer) - K) < 1e-3 * K


def test_every_update_one_power_iteration_per_d_update_and_none_in_forward():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(6, 4))
    sn = build_normalizer(dict(name="spectral", n_power_iterations=1, power_iteration="every_update"))
    sn.apply(D)
    (_, _, p), = spectral_layers(D)
    u0 = p.u.clone()
    D(torch.randn(3, 6))
    D(torch.randn(3, 6))
    assert torch.equal(p.u, u0), "a forward pass must not move u"
    sn.before_d_step(D)
    assert not torch.equal(p.u, u0)


def test_u_persists_across_steps_and_is_saved():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(3, 8, 3))
    sn = build_normalizer(dict(name="spectral"))
    sn.apply(D)
    sn.before_d_step(D)
    state = D.state_dict()
    u_key = [k for k in state if k.endswith(".u")]
    assert u_key, list(state)
    # a fresh D loading the state continues from the same u
    torch.manual_seed(1)
    D2 = nn.Sequential(nn.Conv2d(3, 8, 3))
    build_normalizer(dict(name="spectral")).apply(D2)
    D2.load_state_dict(state)
    assert torch.equal(D2.state_dict()[u_key[0]], state[u_key[0]])
    assert torch.allclose(D2[0].weight, D[0].weight)


def test_estimate_tracks_exact_sigma_of_raw_weight():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(20, 10))
    sn = build_normalizer(dict(name="spectral", power_iteration="every_update"))
    sn.apply(D)
    for _ in range(30):
        sn.before_d_step(D)
    estimate = float(sn.sigma_estimates(D)["0"])
    raw = float(torch.linalg.matrix_norm(D[0].parametrizations.weight.original.detach(), ord=2))
    assert estimate == pytest.approx(raw, rel=1e-3)


def test_spectral_gamma_scales_by_learnable_gamma():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(9, 4))
    norm = build_normalizer(dict(name="spectral_gamma", gamma_init=3.0, power_iteration="every_update"))
    norm.apply(D)
    for _ in range(50):
        norm.before_d_step(D)
    assert exact_sigma(D[0]) == pytest.approx(3.0, abs=1e-2)
    assert any(n.endswith("gamma") for n, _ in D.named_parameters())


def _naive_normalized(weight, u, v, K):
    """W_SN by plain autograd operations: the reference for the closed-form backward."""
    return weight * (K / torch.dot(u, weight.flatten(1) @ v))


@pytest.mark.parametrize("shape", [(5, 17), (7, 3, 3, 3)])
@pytest.mark.parametrize("K", [1.0, 2.5])
def test_closed_form_backward_matches_autograd(shape, K):
    from sngan_cli.norms.spectral import divide_by_sigma

    torch.manual_seed(0)
    weight = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    u = torch.nn.functional.normalize(torch.randn(shape[0], dtype=torch.float64), dim=0)
    v = torch.nn.functional.normalize(torch.randn(weight[0].numel(), dtype=torch.float64), dim=0)
    assert torch.autograd.gradcheck(lambda w: divide_by_sigma(w, u, v, K), (weight,))
    upstream = torch.randn(*shape, dtype=torch.float64)
    (ours,) = torch.autograd.grad(divide_by_sigma(weight, u, v, K), weight, upstream)
    (naive,) = torch.autograd.grad(_naive_normalized(weight, u, v, K), weight, upstream)
    assert torch.allclose(ours, naive, rtol=1e-10, atol=1e-12)
    assert torch.allclose(divide_by_sigma(weight, u, v, K), _naive_normalized(weight, u, v, K), rtol=1e-12)


def test_batched_power_iteration_equals_the_per_layer_formula():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(6, 4), nn.Conv2d(3, 5, 3), nn.Linear(9, 2))
    sn = build_normalizer(dict(name="spectral", n_power_iterations=2, power_iteration="every_update"))
    sn.apply(D)
    expected = {}
    for name, module, p in spectral_layers(D):
        matrix, u, v = module.parametrizations.weight.original.detach().flatten(1), p.u.clone(), p.v.clone()
        for _ in range(2):
            v = torch.nn.functional.normalize(matrix.t() @ u, dim=0, eps=1e-12)
            u = torch.nn.functional.normalize(matrix @ v, dim=0, eps=1e-12)
        expected[name] = (u, v)
    sn.before_d_step(D)
    for name, _, p in spectral_layers(D):
        assert torch.allclose(p.u, expected[name][0], atol=1e-6) and torch.allclose(p.v, expected[name][1], atol=1e-6)


def test_every_forward_refreshes_u_at_each_training_call_then_normalizes_with_it():
    """The default (the authors' code): each training-mode call runs one power-iteration step and
    divides by the new u^T W v; eval mode neither refreshes nor changes sigma."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(6, 4))
    sn = build_normalizer(dict(name="spectral"))
    sn.apply(D)
    (_, module, p), = spectral_layers(D)
    raw = module.parametrizations.weight.original.detach()
    x = torch.randn(3, 6)
    for _ in range(3):
        u_before = p.u.clone()
        v = torch.nn.functional.normalize(raw.t() @ u_before, dim=0, eps=1e-12)
        u = torch.nn.functional.normalize(raw @ v, dim=0, eps=1e-12)
        out = D(x)
        assert torch.allclose(p.u, u, atol=1e-6) and torch.allclose(p.v, v, atol=1e-6)
        expected = x @ (raw / torch.dot(u, raw @ v)).t() + module.bias
        assert torch.allclose(out, expected, atol=1e-5)
    sn.before_d_step(D)  # nothing more per update
    D.eval()
    u_trained = p.u.clone()
    D(x)
    assert torch.equal(p.u, u_trained)


def test_every_forward_backward_uses_each_calls_own_u():
    """Two calls before one backward (D on the real, then the fake batch): each call's gradient is
    taken with the u, v it normalized with, although the second call moved the buffers."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(6, 4))
    build_normalizer(dict(name="spectral")).apply(D)
    (_, module, p), = spectral_layers(D)
    a, b = torch.randn(3, 6), torch.randn(3, 6)
    u0, v0 = p.u.clone(), p.v.clone()
    (D(a).sum() + D(b).sum()).backward()
    grad = module.parametrizations.weight.original.grad.clone()

    from sngan_cli.norms.spectral import divide_by_sigma

    raw = module.parametrizations.weight.original.detach().clone().requires_grad_(True)
    v1 = torch.nn.functional.normalize(raw.detach().t() @ u0, dim=0, eps=1e-12)
    u1 = torch.nn.functional.normalize(raw.detach() @ v1, dim=0, eps=1e-12)
    v2 = torch.nn.functional.normalize(raw.detach().t() @ u1, dim=0, eps=1e-12)
    u2 = torch.nn.functional.normalize(raw.detach() @ v2, dim=0, eps=1e-12)
    loss = (a @ divide_by_sigma(raw, u1, v1).t()).sum() + (b @ divide_by_sigma(raw, u2, v2).t()).sum()
    loss.backward()
    assert torch.allclose(grad, raw.grad, atol=1e-6)
    assert not torch.equal(u1, u0)
