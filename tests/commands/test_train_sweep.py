"""`sngan train -m`: every job of a sweep trains in a run directory of its own (commands/train.py
check_sweep), refused before any training otherwise."""
import pytest

from sngan_cli import SnganError
from tests.conftest import TINY, run_sngan

STEPS = ["train.steps=2", "train.ckpt_every=2", "train.sample_every=2"]
# the experiments that sweep a key the run directory's name does not hold (each names its runs after
# it, or sets a row's name), or whose rows are presets; the Table 2 / Figure 1-2 sweeps vary only
# method, setting and seed, which the name holds (and have 144-162 jobs each)
EXPERIMENTS = ["figure4_stl10", "figure11_ndis", "table7_wgan_gp", "digits_miniature", "digits_miniature_seeds",
               "table2_stl10_cnn_2x", "table2_resnet_cifar10"]


@pytest.mark.parametrize("sweep,keys", [
    (["arch.d_last_channels=8,16"], "arch.d_last_channels"),
    (["fidelity=code,text"], "fidelity"),
    (["arch.d_last_channels=8,16", "name=a,b"], "arch.d_last_channels"),  # a swept name is a cross product
    (["norm=spectral,weight", "train.ema=false,true"], "train.ema"),
])
def test_a_sweep_whose_jobs_share_a_run_directory_is_refused_before_training(sweep, keys, tmp_path):
    proc = run_sngan("train", "-m", *TINY, *STEPS, *sweep, cwd=str(tmp_path), check=False)
    assert proc.returncode == 1
    err = proc.stderr.strip()
    assert err.count("\n") == 0, err  # one line
    assert f"they differ in {keys}," in err and "name=" in err, err
    assert "Traceback" not in err and "Launching" not in proc.stdout + err
    assert not (tmp_path / "outputs").exists()  # nothing trained, no directory made


def test_the_refusal_names_the_directory_and_the_advice_works():
    from sngan_cli.commands.train import check_sweep

    with pytest.raises(SnganError) as refused:
        check_sweep(["-m", *TINY, "arch.d_last_channels=8,16"])
    message = str(refused.value)
    assert "2 jobs of the sweep would train in one run directory, outputs/digits/cnn-spectral-standard-C/seed0:" in message
    # the advice: one sweep per value, each with its own name
    for channels in (8, 16):
        check_sweep(["-m", *TINY, f"arch.d_last_channels={channels}", f"name=dlast{channels}", "seed=0,1"])


def test_distinct_jobs_and_hydra_flags_are_left_to_hydra():
    from sngan_cli.commands.train import check_sweep

    check_sweep(["-m", *TINY, "norm=spectral,weight", "seed=0,1"])
    check_sweep(["-m", *TINY, "arch.d_last_channels=8,16", "hydra.sweep.subdir=${hydra.job.num}"])
    check_sweep(["--cfg", "job", "-m", *TINY, "arch.d_last_channels=8,16"])  # Hydra's own flags: Hydra's business
    check_sweep([*TINY, "arch.d_last_channels=8"])  # a single run


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_the_documented_experiments_are_sweeps_of_distinct_runs(experiment):
    """Composed only (no training): each experiment's jobs each have a run directory of their own."""
    from sngan_cli.commands.train import check_sweep

    check_sweep(["-m", f"experiment={experiment}"])
