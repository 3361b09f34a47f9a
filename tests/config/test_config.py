"""The composed config: paper defaults, Table 1, presets, compose-time errors, and the rules of
config/__init__.py (ranges, the keys that change the numbers, dotted keys)."""
import pytest

from sngan_cli import SnganError
from sngan_cli.config import validate
from tests.conftest import compose_train

TABLE1 = {"A": (1e-4, 0.5, 0.9, 5), "B": (1e-4, 0.5, 0.999, 1), "C": (2e-4, 0.5, 0.999, 1),
          "D": (1e-3, 0.5, 0.9, 5), "E": (1e-3, 0.5, 0.999, 5), "F": (1e-3, 0.9, 0.999, 5),
          "resnet": (2e-4, 0.0, 0.9, 5)}


def test_defaults_reproduce_the_paper():
    cfg = compose_train()
    assert cfg.train.steps == 100_000 and cfg.train.batch_size == 64 and cfg.arch.z_dim == 128
    assert cfg.arch.width == 1.0 and cfg.norm.lipschitz == 1.0 and cfg.norm.n_power_iterations == 1
    assert cfg.dataset.name == "cifar10" and cfg.norm.name == "spectral"
    validate(cfg)
    assert compose_train(["norm=clip"]).norm.clip == 0.01 and compose_train(["norm=gp"]).norm.gp_lambda == 10
    assert compose_train(["norm=orthonormal"]).norm.ortho_beta == 1e-4


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
    with pytest.raises(SnganError, match="train.steps"):
        compose_train(["train.steps=abc"])


def test_unknown_key_fails_at_compose_time():
    with pytest.raises(SnganError, match="stepz"):
        compose_train(["train.stepz=3"])


def test_unknown_group_option_lists_choices():
    with pytest.raises(SnganError, match="spectral") as info:
        compose_train(["norm=spectrall"])
    assert "Available options" in str(info.value)


@pytest.mark.parametrize("overrides,key", [(["norm=spectral", "norm.clip=0.05"], "clip"),
                                           (["norm=gp", "norm.power_iteration=every_update"], "power_iteration"),
                                           (["norm=clip", "norm.gp_lambda=1"], "gp_lambda"),
                                           (["dataset=digits", "dataset.split=test"], "split"),
                                           (["dataset=folder", "dataset.root=x", "dataset.antialias=false"],
                                            "antialias"),
                                           (["arch=cnn", "arch.d_pool=mean"], "d_pool"),
                                           (["arch=resnet", "arch.d_slope=0.1"], "d_slope"),
                                           (["arch=resnet_gulrajani", "arch.g_dense_bn=channels"], "g_dense_bn")])
def test_a_key_the_chosen_option_lacks_fails_at_compose_time(overrides, key):
    """Each normalizer, dataset and architecture has only its own options, so a key of another one
    is refused when composed, not accepted and left to block a resume."""
    with pytest.raises(SnganError, match=f"Key '{key}' not in .*the keys of .* here: name, "):
        compose_train(overrides)
    keys = r"the keys of norm here: name, n_power_iterations, power_iteration, lipschitz\)$"
    with pytest.raises(SnganError, match=keys):
        compose_train(["norm.clip=0.05"])


@pytest.mark.parametrize("arch,key,keys", [
    ("cnn", "d_pool", "d_channels, d_slope, g_dense_bn, d_first_norm"),
    ("resnet", "d_slope", "d_hidden, residual_gain, d_pool, d_fc_bias")])
def test_a_key_of_another_architecture_is_refused_in_one_line_naming_the_keys_the_chosen_one_has(arch, key, keys):
    common = "name, z_dim, width, g_width, d_width, d_last_channels, conditional, z_distribution, g_batch_size, " \
             "data_scaling"
    with pytest.raises(SnganError) as info:
        compose_train([f"arch={arch}", f"arch.{key}=0"])
    message = str(info.value)
    assert f"arch.{key}" in message and "\n" not in message
    assert message.endswith(f"(the keys of arch here: {common}, {keys})")


def test_each_architecture_option_has_its_architecture_s_keys():
    from omegaconf import OmegaConf

    from sngan_cli.models import architecture, architectures

    assert "resnet_gulrajani" not in architectures()  # the ResNet's networks and keys, other values
    for option in _options("arch"):
        cfg = compose_train([f"arch={option}"])
        assert OmegaConf.get_type(cfg.arch) is architecture(cfg.arch.name).config, option


@pytest.mark.parametrize("override,allowed", [
    ("arch.z_distribution=gaussian", "normal, uniform"), ("arch.data_scaling=x", "exact, dequantize"),
    ("arch.d_channels=x", "downsample, table3"), ("arch.g_dense_bn=x", "units, channels"),
    ("arch=resnet arch.d_hidden=x", "input, output"), ("arch=resnet arch.d_pool=max", "sum, mean"),
    ("norm.power_iteration=x", "every_forward, every_update"), ("eval.quantize=x", "truncate, round"),
    ("train.on_nan=x", "stop, restore"), ("train.amp=fp16", "none, bf16"), ("setting.lr_decay=x", "none, linear"),
    ("eval.protocol=x", "paper, standard"), ("eval.detector=x", "auto, inception, digits-classifier")])
def test_a_closed_choice_outside_its_enum_fails_at_compose_time_in_one_line(override, allowed):
    *arch, override = override.split()
    key, value = override.split("=")
    with pytest.raises(SnganError) as info:
        compose_train([*arch, override])
    message = str(info.value)
    assert key in message and f"'{value}'" in message and allowed in message and "\n" not in message


def test_closed_choices_are_read_as_their_names():
    """Enum members that equal their names: the code compares them with strings, and the config a
    checkpoint stores (config.plain) holds the names."""
    from sngan_cli.config import plain

    cfg = compose_train(["fidelity=text", "norm=clip", "train.amp=bf16"])
    assert cfg.arch.z_distribution == "normal" and cfg.norm.clip_params == "weights" and cfg.train.amp == "bf16"
    saved = plain(cfg)
    assert type(saved["arch"]["z_distribution"]) is str and saved["norm"]["clip_params"] == "weights"
    assert type(saved["eval"]["detector"]) is str and saved["train"]["amp"] == "bf16"


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
    from sngan_cli.config import compose

    cfg = compose(["experiment=digits_miniature"], hydra=True)
    assert cfg.hydra.sweep.dir == "outputs/miniature" and cfg.name == "mini"


@pytest.mark.parametrize("override", ["setting.lr=nan", "setting.lr=inf", "setting.beta2=nan", "norm.lipschitz=inf",
                                      "arch.width=nan"])
def test_every_number_must_be_finite(override):
    with pytest.raises(SnganError, match=f"{override.split('=')[0]}=.* must be a finite number"):
        validate(compose_train([override]))
    with pytest.raises(SnganError, match="norm.gp_lambda=-inf is not allowed: it must be a finite number"):
        validate(compose_train(["norm=gp", "norm.gp_lambda=-inf"]))


@pytest.mark.parametrize("group,schema", [("arch", "schema/cnn"), ("arch", "schema/resnet"), ("setting", "schema")])
def test_the_schema_offered_as_an_option_is_a_clear_error(group, schema):
    with pytest.raises(SnganError, match=rf"{group}\.name has no value: choose a {group} with {group}=NAME"):
        validate(compose_train([f"{group}={schema}"]))


@pytest.mark.parametrize("group", ["norm", "loss", "dataset", "arch"])
def test_registered_groups_have_no_schema_option(group):
    """Their options come from the registries (arch's: the YAML options extending each architecture's
    schema, arch/schema/<name>): schema is not one, and the error lists them."""
    with pytest.raises(SnganError, match=rf"Could not find '{group}/schema' Available options in '{group}': \w+, "):
        compose_train([f"{group}=schema"])


@pytest.mark.parametrize("overrides,message", [
    (["norm.name=gp"], "norm.name=gp is not allowed with these norm options: choose the norm with norm=gp"),
    (["loss.name=nope"], "loss.name=nope is not allowed: choose one of standard, hinge, wasserstein"),
    (["dataset.name=digits"], "dataset.name=digits is not allowed with these dataset options"),
    (["dataset=folder"], "dataset.root has no value: set dataset.root=..."),
    (["norm=gp", "norm.gp_lambda=-1"], "norm.gp_lambda=-1.0 is not allowed: it must be >= 0"),
    (["norm=spectral_gamma", "norm.gamma_init=0"], "norm.gamma_init=0.0 is not allowed: it must be > 0"),
    (["eval.n_generated=1"], "eval.n_generated=1 is not allowed: it must be >= 2"),
    (["arch.name=resnet"], "arch.name=resnet is not allowed with these arch options: choose the arch with arch=resnet"),
    (["arch=resnet", "arch.name=cnn"], "arch.name=cnn is not allowed with these arch options: choose the arch with "
                                       "arch=cnn"),
    (["arch.d_slope=1"], "arch.d_slope=1.0 is not allowed: it must be in [0, 1)"),
    (["train.g_batch_size=0"], "train.g_batch_size=0 is not allowed: it must be > 0")])
def test_validation_names_the_key_the_value_and_what_is_allowed(overrides, message):
    with pytest.raises(SnganError) as info:
        validate(compose_train(overrides))
    assert str(info.value).startswith(message)


def test_a_closed_choice_of_a_registry_is_its_entries():
    from sngan_cli.config.schema import DetectorName, ProtocolName
    from sngan_cli.metrics import DETECTORS, PROTOCOLS

    assert list(ProtocolName) == list(PROTOCOLS) and list(DetectorName) == ["auto", *DETECTORS]


# --- the keys that change the numbers: one list for the resume check and the report's seeds


def test_the_speed_options_that_change_arithmetic_change_the_numbers():
    from sngan_cli.config import changes_numbers, resumable

    for key in ("train.amp", "train.tf32", "eval.quantize", "seed", "norm.lipschitz", "setting.lr"):
        assert changes_numbers(key) and not resumable(key), key
    for key in ("train.compile", "train.cuda_graphs", "train.channels_last", "train.fused_adam", "device",
                "train.log_every", "eval.protocol", "name", "dataset.root"):
        assert not changes_numbers(key) and resumable(key), key
    assert changes_numbers("train.steps") and resumable("train.steps")  # a resume runs further


def test_every_key_that_does_not_change_the_numbers_is_a_key_of_the_schema():
    from sngan_cli.config import SAME_NUMBERS, flatten

    keys = set(flatten(compose_train(["train.g_batch_size=8", "eval.n_generated=10", "eval.inception_weights=w"])))
    assert set(SAME_NUMBERS) <= keys


def test_config_differences():
    from sngan_cli.config import config_differences

    saved = {"train": {"steps": 10, "batch_size": 64}, "norm": {"name": "spectral", "clip": 0.01}}
    now = {"train": {"steps": 20, "batch_size": 32}, "norm": {"name": "spectral"}, "name": "new"}
    # norm.clip: saved by an older version, read by nothing here
    assert config_differences(saved, now, ignore=lambda key: key == "train.steps") == [
        "name: <absent> -> new", "train.batch_size: 64 -> 32"]


def test_flatten_and_get_are_the_config_s_dotted_keys():
    from sngan_cli.config import flatten, get

    node = {"a": {"b": 1, "c": [2, {"d": 3}]}, "e": None}
    assert flatten(node) == {"a.b": 1, "a.c": [2, {"d": 3}], "e": None}  # a list is one value (eval.metrics)
    assert get(node, "a.b") == 1 and get(node, "a.x", "default") == "default" and get(node, "a.b.c") is None
    cfg = compose_train()
    assert get(cfg, "norm.lipschitz") == 1.0 and get(cfg, "norm.clip", "absent") == "absent"


def _options(group: str):
    from importlib import resources

    folder = resources.files("sngan_cli.conf").joinpath(*group.split("/"))
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


@pytest.mark.parametrize("fidelity", ["code", "text"])
@pytest.mark.parametrize("preset", [f"method={m}" for m in _options("method")] +
                         [f"+experiment/table7={row}" for row in _options("experiment/table7")])
def test_every_preset_composes_under_either_fidelity(preset, fidelity):
    """fidelity=text sets each normalizer's own points (fidelity/norm/) only where it has them."""
    cfg = compose_train([preset, f"fidelity={fidelity}"])
    validate(cfg)
    if "power_iteration" in cfg.norm:
        assert cfg.norm.power_iteration == {"code": "every_forward", "text": "every_update"}[fidelity]
    if "clip_params" in cfg.norm:
        assert cfg.norm.clip_params == {"code": "all", "text": "weights"}[fidelity]


def test_every_normalizer_s_points_of_fidelity_are_options_it_has():
    from sngan_cli.norms import available

    for option in _options("fidelity/norm"):
        fidelity, norm = option.split("_", 1)
        assert fidelity in _options("fidelity") and norm in available(), option
        validate(compose_train([f"norm={norm}", f"fidelity={fidelity}"]))


@pytest.mark.parametrize("fidelity", ["code", "text"])
@pytest.mark.parametrize("arch", _options("arch"))
def test_every_architecture_composes_under_either_fidelity(arch, fidelity):
    """fidelity=text sets the keys every architecture has, and an architecture's own points
    (fidelity/arch/) only where it has them: Table 3's for the CNN."""
    cfg = compose_train([f"arch={arch}", f"fidelity={fidelity}"])
    validate(cfg)
    assert cfg.arch.z_distribution == ("normal" if fidelity == "text" or cfg.arch.name == "resnet" else "uniform")
    assert cfg.arch.data_scaling == ("exact" if fidelity == "text" or cfg.arch.name == "cnn" else "dequantize")
    if cfg.arch.name == "cnn":
        text = fidelity == "text"
        assert (cfg.arch.d_channels, cfg.arch.d_slope, cfg.arch.g_dense_bn, cfg.arch.d_first_norm) == (
            ("table3", 0.1, "channels", True) if text else ("downsample", 0.2, "units", False))


def test_every_architecture_s_points_of_fidelity_are_keys_it_has():
    from sngan_cli.models import architectures

    for option in _options("fidelity/arch"):
        fidelity, arch = option.split("_", 1)
        assert fidelity in _options("fidelity") and arch in architectures(), option
        validate(compose_train([f"arch={arch}", f"fidelity={fidelity}"]))
