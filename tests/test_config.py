"""The composed config: paper defaults, Table 1, presets, and compose-time errors."""
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from sngan_cli import SnganError
from sngan_cli.config import validate
from tests.conftest import compose_train

TABLE1 = {"A": (1e-4, 0.5, 0.9, 5), "B": (1e-4, 0.5, 0.999, 1), "C": (2e-4, 0.5, 0.999, 1),
          "D": (1e-3, 0.5, 0.9, 5), "E": (1e-3, 0.5, 0.999, 5), "F": (1e-3, 0.9, 0.999, 5),
          "resnet": (2e-4, 0.0, 0.9, 5)}


def test_defaults_reproduce_the_paper():
    cfg = compose_train()
    assert cfg.train.steps == 100_000 and cfg.train.batch_size == 64 and cfg.arch.z_dim == 128
    assert cfg.arch.width == 1.0 and cfg.norm.clip == 0.01 and cfg.norm.gp_lambda == 10
    assert cfg.dataset.name == "cifar10" and cfg.norm.name == "spectral"
    validate(cfg)


@pytest.mark.parametrize("setting", sorted(TABLE1))
def test_settings_match_table1(setting):
    s = compose_train([f"setting={setting}"]).setting
    assert (s.lr, s.beta1, s.beta2, s.n_dis) == TABLE1[setting]


def test_imagenet_setting_decays_linearly_after_400k():
    s = compose_train(["setting=imagenet"]).setting
    assert (s.lr, s.beta1, s.beta2, s.n_dis, s.lr_decay, s.decay_start) == (2e-4, 0.0, 0.9, 5, "linear", 400_000)


def test_digits_defaults_to_32px():
    assert compose_train(["dataset=digits"]).dataset.resolution == 32


@pytest.mark.parametrize("method,norm,loss", [("wgan_gp", "gp", "wasserstein"), ("gan_gp", "gp", "standard"),
                                              ("sn_gan_hinge", "spectral", "hinge"), ("clip", "clip", "standard")])
def test_method_presets(method, norm, loss):
    cfg = compose_train([f"method={method}"])
    assert (cfg.norm.name, cfg.loss.name) == (norm, loss)


def test_resnet_presets_g_width():
    """Table 4's 256 is the SN-GANs' doubled G (B.2): the SN preset keeps it, orthonormal and Table 7's
    ResNet (Gulrajani et al.'s) halve it to the original 128."""
    cfg = compose_train(["method=resnet_sn_gan_hinge"])
    assert cfg.arch.name == "resnet" and cfg.arch.g_width == 1.0 and cfg.setting.n_dis == 5
    assert compose_train(["method=resnet_orthonormal_hinge"]).arch.g_width == 0.5
    assert compose_train(["+experiment/table7=resnet_sn"]).arch.g_width == 0.5


def test_wrong_type_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException, match="train.steps"):
        compose_train(["train.steps=abc"])


def test_unknown_key_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException, match="stepz"):
        compose_train(["train.stepz=3"])


def test_unknown_group_option_lists_choices():
    with pytest.raises(Exception, match="spectral") as info:
        compose_train(["norm=spectrall"])
    assert "Available options" in str(info.value)


@pytest.mark.parametrize("override,key", [("train.steps=0", "train.steps"), ("train.batch_size=-2", "train.batch_size"),
                                          ("arch.width=0", "arch.width"), ("setting.lr=-1", "setting.lr"),
                                          ("device=tpu", "device"), ("setting.beta2=1.5", "setting.beta2"),
                                          ("dataset.resolution=20", "dataset.resolution=20"),
                                          ("arch.conditional=true", "arch.conditional")])
def test_out_of_range_values_name_the_key(override, key):
    with pytest.raises(SnganError, match=key):
        validate(compose_train([override]))


@pytest.mark.parametrize("protocol", ["paper", "standard"])
def test_protocol_group_sets_the_evaluation_protocol(protocol):
    assert compose_train([f"protocol={protocol}"]).eval.protocol == protocol


def test_a_preset_can_override_the_primary_config():
    from hydra import compose, initialize_config_module

    compose_train()  # registers the schema and resolvers
    with initialize_config_module("sngan_cli.conf", version_base="1.3"):
        cfg = compose("train", overrides=["experiment=digits_miniature"], return_hydra_config=True)
    assert cfg.hydra.sweep.dir == "outputs/miniature" and cfg.name == "mini"


@pytest.mark.parametrize("override", ["setting.lr=nan", "setting.lr=inf", "setting.beta2=nan", "norm.lipschitz=inf",
                                      "norm.gp_lambda=-inf", "arch.width=nan"])
def test_every_number_must_be_finite(override):
    with pytest.raises(SnganError, match=f"{override.split('=')[0]}=.* must be a finite number"):
        validate(compose_train([override]))


@pytest.mark.parametrize("group", ["norm", "dataset", "setting"])
def test_the_schema_offered_as_an_option_is_a_clear_error(group):
    with pytest.raises(SnganError, match=rf"{group}\.\w+ has no value: choose a {group} with {group}=NAME"):
        validate(compose_train([f"{group}=schema"]))
