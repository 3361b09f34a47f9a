"""`sngan sample`: determinism, shapes (PNG and npz), batch-size independence, overwrite refusal,
conditional labels, grids and interpolations, strict options, and one run through the CLI."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from sngan_cli import SnganError
from sngan_cli.cli import main as cli_main
from sngan_cli.commands import sample
from sngan_cli.trained import load_generator
from sngan_cli.images import to_uint8
from tests.conftest import run_sngan

RES = 16  # TINY's dataset.resolution
CPU = torch.device("cpu")


def run(ckpt, out, *args):
    sample.main([f"ckpt={ckpt}", f"out={out}", "device=cpu", *args])


def read_pngs(out):
    names = sorted(os.listdir(out))
    return names, np.stack([np.asarray(Image.open(os.path.join(out, name))) for name in names])


def read_npz(out):
    with np.load(os.path.join(out, "samples.npz")) as f:
        return {key: f[key] for key in f.files}


def test_png_files_are_deterministic_for_a_seed(tiny_conditional_checkpoint, tmp_path):
    # (the ResNet's Glorot init gives images that vary with z after one step; the CNN's N(0, 0.02)
    # init gives an almost constant grey, the same uint8 for every seed)
    run(tiny_conditional_checkpoint, tmp_path / "a", "n=5")
    run(tiny_conditional_checkpoint, tmp_path / "b", "n=5")
    run(tiny_conditional_checkpoint, tmp_path / "c", "n=5", "seed=1")
    names, a = read_pngs(tmp_path / "a")
    assert names == [f"{i:06d}.png" for i in range(5)]
    assert a.shape == (5, RES, RES, 3) and a.dtype == np.uint8
    assert np.array_equal(a, read_pngs(tmp_path / "b")[1])
    assert not np.array_equal(a, read_pngs(tmp_path / "c")[1])


def test_images_do_not_depend_on_the_batch_size(tiny_checkpoint, tmp_path):
    run(tiny_checkpoint, tmp_path / "a", "n=10", "format=npz", "batch_size=3")
    run(tiny_checkpoint, tmp_path / "b", "n=10", "format=npz", "batch_size=7")
    assert np.array_equal(read_npz(tmp_path / "a")["images"], read_npz(tmp_path / "b")["images"])


def test_npz_holds_the_png_images_from_the_documented_latent_draw(tiny_checkpoint, tmp_path):
    run(tiny_checkpoint, tmp_path / "png", "n=4", "seed=2")
    run(tiny_checkpoint, tmp_path / "npz", "n=4", "seed=2", "format=npz")
    arrays = read_npz(tmp_path / "npz")
    assert set(arrays) == {"images"}
    assert arrays["images"].shape == (4, RES, RES, 3) and arrays["images"].dtype == np.uint8
    assert np.array_equal(arrays["images"], read_pngs(tmp_path / "png")[1])
    # what sngan eval must score: one latent() call for all n, seeded generator, to_uint8
    tg = load_generator(tiny_checkpoint, CPU)
    z, _ = tg.latent(4, torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = to_uint8(tg.G(z)).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(arrays["images"], expected)


def test_non_empty_out_is_refused_unless_overwrite(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    run(tiny_checkpoint, out, "n=5")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SnganError, match="not empty.*overwrite=true"):
        run(tiny_checkpoint, out, "n=2")
    run(tiny_checkpoint, out, "n=2", "overwrite=true")
    # earlier samples go (no stale images for a folder evaluation), other files stay
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png", "notes.txt"]


def test_conditional_labels(tiny_conditional_checkpoint, tmp_path):
    run(tiny_conditional_checkpoint, tmp_path / "fixed", "n=6", "format=npz", "label=3")
    run(tiny_conditional_checkpoint, tmp_path / "uniform", "n=6", "format=npz")
    fixed, uniform = read_npz(tmp_path / "fixed"), read_npz(tmp_path / "uniform")
    assert fixed["labels"].dtype == np.int64 and fixed["labels"].tolist() == [3] * 6
    assert uniform["labels"].shape == (6,) and ((0 <= uniform["labels"]) & (uniform["labels"] < 10)).all()
    tg = load_generator(tiny_conditional_checkpoint, CPU)
    z, y = tg.latent(6, torch.Generator().manual_seed(0), 3)
    assert np.array_equal(fixed["images"], tg.images(z, y).permute(0, 2, 3, 1).numpy())


@pytest.mark.parametrize("which,label,expected", [
    ("tiny_checkpoint", "1", "label=1 is not allowed: .* unconditional"),
    ("tiny_conditional_checkpoint", "10", "label=10 is not allowed: this generator has 10 classes, label=0..9"),
])
def test_bad_labels_are_clear_errors(which, label, expected, request, tmp_path):
    with pytest.raises(SnganError, match=expected):
        run(request.getfixturevalue(which), tmp_path / "out", "n=2", f"label={label}")
    assert not (tmp_path / "out").exists()


def test_grid_and_interpolation_images(tiny_conditional_checkpoint, tmp_path):
    run(tiny_conditional_checkpoint, tmp_path / "grid", "n=5", "grid=true")
    run(tiny_conditional_checkpoint, tmp_path / "interp", "interpolate=true", "rows=2", "steps=4")
    pad = 2
    assert Image.open(tmp_path / "grid" / "grid.png").size == (3 * RES + 4 * pad, 2 * RES + 3 * pad)
    assert Image.open(tmp_path / "interp" / "interpolation.png").size == (4 * RES + 5 * pad, 2 * RES + 3 * pad)


def test_interpolation_rows_keep_one_label_and_run_between_two_draws(tiny_conditional_checkpoint):
    tg = load_generator(tiny_conditional_checkpoint, CPU)
    z, y = sample.interpolation_latents(tg, rows=3, steps=5, seed=0)
    rng = torch.Generator().manual_seed(0)
    z0, y0 = tg.latent(3, rng)
    z1, _ = tg.latent(3, rng)
    assert z.shape == (15, tg.z_dim)
    assert y.tolist() == y0.repeat_interleave(5).tolist()
    assert torch.allclose(z[0::5], z0, atol=1e-5) and torch.allclose(z[4::5], z1, atol=1e-5)


def test_slerp_stays_on_the_sphere_and_handles_parallel_pairs():
    z0 = torch.nn.functional.normalize(torch.randn(4, 8), dim=1) * 3
    z1 = torch.nn.functional.normalize(torch.randn(4, 8), dim=1) * 3
    z1[0] = z0[0]  # a degenerate pair: no NaN, a constant row
    path = sample.slerp(z0, z1, 6).view(4, 6, 8)
    assert torch.allclose(path.norm(dim=2), torch.full((4, 6), 3.0), atol=1e-4)
    assert torch.allclose(path[0], z0[0].expand(6, 8), atol=1e-6)


@pytest.mark.parametrize("args,expected", [
    (["n=0"], "n=0 is not allowed: must be an integer >= 1"),
    (["n=abc"], "n=abc is not allowed: must be an integer"),
    (["n=2", "format=gif"], "format=gif is not allowed: must be one of png, npz"),
    (["n=2", "grid=yes"], "grid=yes is not allowed: must be true or false"),
    (["n=2", "colour=red"], "unknown option colour=red; allowed keys: ckpt, run, n, out"),
    (["n=2", "n=3"], "n is given twice"),
    (["n2"], "'n2' is not key=value"),
    ([], "n= is required"),
    (["n=2", "grid=true", "interpolate=true"], "cannot be combined"),
    (["n=2", "grid=true", "format=npz"], "format=npz .* cannot be combined"),
    (["n=2", "interpolate=true"], "n=2 does not apply to interpolate=true"),
    (["n=2", "steps=4"], "steps=4 applies only to interpolate=true"),
])
def test_bad_options_fail_before_any_work(args, expected, tmp_path):
    with pytest.raises(SnganError, match=expected):
        sample.main([f"ckpt={tmp_path}/none.pt", f"out={tmp_path}/out", *args])
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["sample", f"ckpt={tmp_path}/none.pt", f"out={tmp_path}/out", "n=-1"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "sngan sample: error: n=-1 is not allowed: must be an integer >= 1\n"


@pytest.mark.slow  # a subprocess that imports torch: several seconds on a small CPU
def test_sample_through_the_cli(tiny_checkpoint, tmp_path):
    run(tiny_checkpoint, tmp_path / "in_process", "n=3", "format=npz")
    proc = run_sngan("sample", f"ckpt={tiny_checkpoint}", "n=3", "out=cli", "format=npz", cwd=str(tmp_path))
    assert "wrote" in proc.stdout
    assert np.array_equal(read_npz(tmp_path / "cli")["images"], read_npz(tmp_path / "in_process")["images"])


def test_the_message_names_the_first_file_without_a_double_slash(tiny_checkpoint, tmp_path, capsys):
    sample.main([f"ckpt={tiny_checkpoint}", "n=2", f"out={tmp_path / 'pngs'}/", "device=cpu"])
    out = capsys.readouterr().out
    assert f"{tmp_path / 'pngs' / '000000.png'}" in out and "//" not in out
