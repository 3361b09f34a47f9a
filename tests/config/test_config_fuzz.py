"""Property: any override a user might type gives a clean error or a run that trains."""
import pytest
from hydra.errors import ConfigCompositionException, HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf.errors import OmegaConfBaseException

from sngan_cli import SnganError
from sngan_cli.config import validate
from sngan_cli.training.loop import train
from tests.conftest import TINY, compose_train

KEYS = ["train.steps", "train.batch_size", "train.g_batch_size", "train.log_every", "train.ckpt_every",
        "dataset.resolution", "arch.width", "arch.d_width", "arch.d_last_channels", "arch.conditional",
        "setting.lr", "setting.beta1", "setting.n_dis", "norm.lipschitz", "norm.n_power_iterations",
        "train.on_nan", "device", "seed", "arch.z_dim", "setting.lr_decay"]
GROUPS = {"norm": ["spectral", "weight", "clip", "gp", "orthonormal", "batch", "layer", "none", "frobenius",
                   "spectral_gamma", "bogus"],
          "loss": ["standard", "hinge", "wasserstein", "bogus"],
          "setting": ["A", "B", "C", "D", "E", "F", "resnet", "Z"],
          "arch": ["cnn", "resnet", "mlp"]}
VALUES = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["0.5", "1e-3", "-0.1", "abc", "true", "null",
                                                                   "", "cpu", "auto", "linear", "restore", "[1,2]"]))
OVERRIDE = st.one_of(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), VALUES),
                     st.builds(lambda g, o: f"{g}={o}", st.sampled_from(sorted(GROUPS)),
                               st.sampled_from(sorted({o for opts in GROUPS.values() for o in opts}))),
                     st.sampled_from(["train.nope=1", "nokey=3", "dataset=cifar11"]))

CLEAN = (SnganError, ConfigCompositionException, HydraException, OmegaConfBaseException)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OVERRIDE, max_size=4))
def test_random_overrides_give_clean_errors_or_runs(tmp_path_factory, overrides):
    try:
        cfg = compose_train(TINY + overrides + ["train.steps=1"])
        validate(cfg)
    except CLEAN as e:
        assert str(e).strip()
        return
    run_dir = tmp_path_factory.mktemp("run")
    try:
        train(cfg, str(run_dir))
    except SnganError as e:  # e.g. a non-finite loss from an absurd learning rate: clean, one line
        assert str(e).strip()
        return
    assert (run_dir / "checkpoints" / "last.pt").exists()
