import copy

"""Every normalizer other than SN against its formula (Sec. 3 and Appendix D of the paper)."""
import pytest
import torch
from torch import nn

from sngan_cli import SnganError
from sngan_cli.models import build_discriminator
from sngan_cli.norms import available, build_normalizer
from sngan_cli.norms.gp import gradient_penalty
from sngan_cli.norms.orthonormal import orthonormal_penalty

PAPER_NORMS = {"spectral", "weight", "clip", "gp", "orthonormal", "batch", "layer", "none", "frobenius",
               "spectral_gamma", "weight_gamma", "frobenius_gamma"}


def test_every_normalizer_of_the_contract_is_registered():
    assert PAPER_NORMS <= set(available())


def test_unknown_normalizer_lists_choices():
    with pytest.raises(SnganError, match="spectral"):
        build_normalizer(dict(name="nope"))


# the options each normalizer reads, and no others (each one's config, beside its class)
OPTIONS = {"spectral": {"n_power_iterations", "power_iteration", "lipschitz"}, "clip": {"clip", "clip_params"},
           "gp": {"gp_lambda"}, "orthonormal": {"ortho_beta"},
           "spectral_gamma": {"n_power_iterations", "power_iteration", "lipschitz", "gp_lambda", "gamma_init"},
           "weight_gamma": {"gp_lambda", "gamma_init"}, "frobenius_gamma": {"gp_lambda", "gamma_init"}}


@pytest.mark.parametrize("name", sorted(PAPER_NORMS))
def test_each_normalizer_has_its_own_options_only(name):
    import dataclasses

    from sngan_cli.norms import normalizers

    config = normalizers()[name].config
    assert {f.name for f in dataclasses.fields(config)} == {"name"} | OPTIONS.get(name, set())
    assert isinstance(build_normalizer(dict(name=name)).params, config)
    other = "clip" if name != "clip" else "lipschitz"
    with pytest.raises(SnganError, match=f"norm={name}: .*{other}"):
        build_normalizer(dict(name=name, **{other: 0.05}))


def test_a_closed_choice_outside_its_enum_is_refused():
    with pytest.raises(SnganError, match="every_step.*every_forward, every_update"):
        build_normalizer(dict(name="spectral", power_iteration="every_step"))


def test_weight_norm_rows_have_unit_norm_and_no_gamma():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(3, 6, 3), nn.Linear(5, 4))
    build_normalizer(dict(name="weight")).apply(D)
    for layer in D:
        rows = layer.weight.flatten(1).norm(dim=1)
        assert torch.allclose(rows, torch.ones_like(rows), atol=1e-6)
    names = [n for n, _ in D.named_parameters()]
    assert all("original" in n or n.endswith("bias") for n in names), names


def test_frobenius_norm_is_one():
    D = nn.Sequential(nn.Linear(7, 3))
    build_normalizer(dict(name="frobenius")).apply(D)
    assert float(D[0].weight.detach().norm()) == pytest.approx(1.0, abs=1e-6)


def test_clip_clamps_every_parameter_after_a_step():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(2, 3, 3))
    with torch.no_grad():
        D[0].weight.mul_(10)
    expected = [p.detach().clamp(-0.01, 0.01) for p in D.parameters()]
    clip = build_normalizer(dict(name="clip", clip=0.01))
    clip.after_d_step(D)
    for p, want in zip(D.parameters(), expected):
        assert torch.equal(p, want) and p.abs().max() <= 0.01
    assert (D[0].weight.abs() == 0.01).any()


def test_clip_weights_only_leaves_the_biases():
    """norm.clip_params=weights: "the convolutional weight of each layer" (Sec. 4's text)."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(4, 4), nn.Conv2d(2, 3, 3))
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(10)
    biases = [D[0].bias.detach().clone(), D[1].bias.detach().clone()]
    build_normalizer(dict(name="clip", clip=0.01, clip_params="weights")).after_d_step(D)
    assert D[0].weight.abs().max() <= 0.01 and D[1].weight.abs().max() <= 0.01
    assert torch.equal(D[0].bias, biases[0]) and torch.equal(D[1].bias, biases[1]) and biases[0].abs().max() > 0.01


class Linear2x(nn.Module):
    """f(x) = 2 * sum(x): gradient norm 2 * sqrt(numel) everywhere."""

    def forward(self, x, y=None):
        return 2 * x.flatten(1).sum(1)


def test_gradient_penalty_on_a_known_function():
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    expected = (2 * 2.0 - 1) ** 2  # ||grad|| = 2 * sqrt(4) = 4
    assert float(gradient_penalty(Linear2x(), real, fake, None)) == pytest.approx(expected)
    gp = build_normalizer(dict(name="gp", gp_lambda=10.0))
    assert float(gp.penalty(Linear2x(), real, fake, None)) == pytest.approx(10 * expected)


@pytest.mark.parametrize("norm,refresh", [("none", "every_update"), ("spectral", "every_update"),
                                          ("spectral", "every_forward")])
def test_gradient_penalty_and_its_gradients_are_those_of_autograd_with_create_graph(norm, refresh):
    """torch.func.grad (which compiles) in place of autograd.grad(create_graph=True): the same penalty
    and the same gradients for D's weights, through a spectrally normalized D too (with the power
    iteration of every call: run before the transform, the same u as a plain call's)."""
    D0 = build_discriminator("cnn", 16, width=0.125, num_classes=10)
    build_normalizer(dict(name=norm, **({"power_iteration": refresh} if norm == "spectral" else {}))).apply(D0)
    real, fake, labels = torch.rand(6, 3, 16, 16), torch.rand(6, 3, 16, 16), torch.randint(10, (6,))
    results = []
    for take_gradient in ("func", "autograd"):
        D = copy.deepcopy(D0)  # the same weights and u, v for both
        D.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # the same interpolation weights
        if take_gradient == "func":
            penalty = gradient_penalty(D, real, fake, labels)
        else:
            eps = torch.rand(6, 1, 1, 1)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x_hat, labels).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        penalty.backward()
        results.append((penalty.detach(), [p.grad for p in D.parameters()], [b.clone() for b in D.buffers()]))
    (func, func_grads, func_buffers), (autograd, autograd_grads, autograd_buffers) = results
    assert all(torch.equal(a, b) for a, b in zip(func_buffers, autograd_buffers))
    assert torch.allclose(func, autograd, rtol=1e-6) and float(func) > 0
    # (the last layer's bias does not change D's input gradient: no gradient, either way)
    assert [g is None for g in func_grads] == [g is None for g in autograd_grads]
    compared = [(g, want) for g, want in zip(func_grads, autograd_grads) if want is not None]
    assert len(compared) >= len(func_grads) - 2
    for g, want in compared:
        assert torch.allclose(g, want, rtol=1e-5, atol=1e-7 * want.abs().max().item())


def test_gradient_penalty_zero_for_unit_gradient():
    class UnitGrad(nn.Module):
        def forward(self, x, y=None):
            return x.flatten(1)[:, 0]

    real, fake = torch.randn(3, 4), torch.randn(3, 4)
    assert float(gradient_penalty(UnitGrad(), real, fake, None)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (3, 8), (8, 3), (6, 2, 3, 3)])
def test_orthonormal_penalty_of_an_orthogonal_matrix_is_zero(shape):
    w = torch.empty(shape)
    nn.init.orthogonal_(w)
    assert float(orthonormal_penalty(w)) == pytest.approx(0.0, abs=1e-9)
    assert float(orthonormal_penalty(2 * w)) > 1.0


def test_orthonormal_initializes_and_penalizes_with_beta():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(8, 4), nn.Conv2d(2, 3, 3))
    ortho = build_normalizer(dict(name="orthonormal", ortho_beta=0.5))
    ortho.apply(D)
    assert float(ortho.penalty(D, None, None, None)) == pytest.approx(0.0, abs=1e-9)
    with torch.no_grad():
        D[0].weight.mul_(2)  # W W^T = 4 I  ->  ||3 I||^2 = 9 * 4
    assert float(ortho.penalty(D, None, None, None)) == pytest.approx(0.5 * 36, rel=1e-5)


@pytest.mark.parametrize("name,kind", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm)])
def test_feature_norms_have_no_gamma(name, kind):
    norm = build_normalizer(dict(name=name))
    D = build_discriminator("cnn", 16, width=0.125, norm_layer=norm.feature_norm)
    inner = [m for m in D.modules() if isinstance(m, kind)]
    assert len(inner) == 6  # after each conv but the first, as the authors' code (arch.d_first_norm=false)
    text = build_discriminator("cnn", 16, width=0.125, norm_layer=norm.feature_norm, first_norm=True)
    assert len([m for m in text.modules() if isinstance(m, kind)]) == 7  # "after each layer"
    assert all(m.weight is None for m in inner)  # no learnable scale
    assert not any(n.endswith("weight") and "norm" in n for n, _ in D.named_parameters())


def test_layer_norm_normalizes_each_sample():
    norm = build_normalizer(dict(name="layer")).feature_norm(4)
    x = torch.randn(3, 4, 5, 5) * 7 + 2
    h = norm(x).flatten(1)
    assert torch.allclose(h.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(h.var(1, unbiased=False), torch.ones(3), atol=1e-3)


def test_weight_gamma_scales_each_unit_row_by_its_own_learnable_gamma():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Conv2d(3, 6, 3), nn.Linear(5, 4))
    norm = build_normalizer(dict(name="weight_gamma", gamma_init=2.0))
    norm.apply(D)
    gammas = [p for n, p in D.named_parameters() if n.endswith("gamma")]
    assert [tuple(g.shape) for g in gammas] == [(6,), (4,)]
    with torch.no_grad():
        gammas[0].copy_(torch.arange(1.0, 7.0))
    assert torch.allclose(D[0].weight.flatten(1).norm(dim=1), torch.arange(1.0, 7.0), atol=1e-5)
    assert torch.allclose(D[1].weight.norm(dim=1), torch.full((4,), 2.0), atol=1e-5)


def test_frobenius_gamma_has_frobenius_norm_gamma():
    D = nn.Sequential(nn.Linear(7, 3))
    norm = build_normalizer(dict(name="frobenius_gamma", gamma_init=0.5))
    norm.apply(D)
    assert float(D[0].weight.detach().norm()) == pytest.approx(0.5, abs=1e-6)
    (gamma,) = [p for n, p in D.named_parameters() if n.endswith("gamma")]
    assert gamma.dim() == 0


@pytest.mark.parametrize("name", ["spectral_gamma", "weight_gamma", "frobenius_gamma"])
def test_scaled_normalizers_add_the_gradient_penalty_unless_lambda_is_zero(name):
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    penalty = build_normalizer(dict(name=name, gp_lambda=3.0)).penalty(Linear2x(), real, fake, None)
    assert float(penalty) == pytest.approx(3.0 * (2 * 2.0 - 1) ** 2)
    assert build_normalizer(dict(name=name, gp_lambda=0.0)).penalty(Linear2x(), real, fake, None) is None


def test_scaled_weight_gamma_receives_gradients():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(4, 3))
    build_normalizer(dict(name="weight_gamma")).apply(D)
    D(torch.randn(2, 4)).sum().backward()
    (gamma,) = [p for n, p in D.named_parameters() if n.endswith("gamma")]
    assert gamma.grad is not None and gamma.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["spectral_gamma", "weight_gamma", "frobenius_gamma"])
def test_learnable_scale_starts_where_the_scaled_weight_is_w(name):
    """gamma_init=null (default): gamma = sigma(W) (SN, as the authors' use_gamma layers), ||w_i||
    (WN) or ||W||_F, so W-tilde = W at step 0 (up to the power-iteration estimate of sigma); a
    number gives every gamma that value instead."""
    torch.manual_seed(0)
    D = build_discriminator("cnn", 16, width=0.125)
    raw = {n: m.weight.detach().clone() for n, m in D.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    norm = build_normalizer(dict(name=name, **({"power_iteration": "every_update"} if name == "spectral_gamma" else {})))
    norm.apply(D)
    for _ in range(300):  # sigma's estimate converges to the exact value
        norm.before_d_step(D)
    D.eval()
    for n, m in D.named_modules():
        if n in raw:
            assert torch.allclose(m.weight, raw[n], rtol=1e-3, atol=1e-6), n
    fixed = build_discriminator("cnn", 16, width=0.125)
    build_normalizer(dict(name=name, gamma_init=1.0)).apply(fixed)
    assert all(float(p.detach().abs().max()) == 1.0 for n, p in fixed.named_parameters() if n.endswith("gamma"))
