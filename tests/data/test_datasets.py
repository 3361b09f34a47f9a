import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from sngan_cli import SnganError
from sngan_cli.data import load_dataset
from sngan_cli.data.batches import BatchStream


def test_digits_is_embedded_and_upscaled():
    data = load_dataset("digits", root="unused", resolution=32)
    assert data.images.shape == (1797, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.num_classes == 10 and data.labels.shape == (1797,)
    assert data.images.max() == 255 and data.images.min() == 0


@pytest.mark.parametrize("name", ["cifar10", "stl10", "svhn"])
def test_missing_dataset_offline_is_one_clear_line(name, tmp_path):
    with pytest.raises(SnganError) as info:
        load_dataset(name, root=str(tmp_path), resolution=32, download=False)
    message = str(info.value)
    assert str(tmp_path) in message and "\n" not in message and "http" in message


def test_imagenet_missing_root_is_clear(tmp_path):
    with pytest.raises(SnganError, match="train"):
        load_dataset("imagenet", root=str(tmp_path), resolution=128)


def _write(path, mode, size, color):
    Image.new(mode, size, color).save(path)


def test_folder_converts_and_skips(tmp_path):
    _write(tmp_path / "rgb.png", "RGB", (40, 30), (255, 0, 0))
    _write(tmp_path / "gray.jpg", "L", (20, 20), 128)
    _write(tmp_path / "rgba.png", "RGBA", (50, 50), (0, 0, 255, 100))
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "palette.gif", "P", (16, 24), 3)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset("folder", root=str(tmp_path), resolution=16)
    assert data.images.shape == (4, 3, 16, 16)
    assert any("skipped 1 of 5" in str(w.message) for w in caught)
    red = data.images[[i for i in range(4) if data.images[i, 0].float().mean() > 250][0]]
    assert red[1].max() == 0


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(SnganError, match="no readable images"):
        load_dataset("folder", root=str(tmp_path), resolution=16)


def test_batch_stream_resumes_exactly():
    data = load_dataset("digits", root="", resolution=8)
    a = BatchStream(data, 64, seed=3, device=torch.device("cpu"))
    for _ in range(40):  # crosses an epoch boundary (1797 // 64 = 28 batches per epoch)
        a.next()
    b = BatchStream(data, 64, seed=3, device=torch.device("cpu"))
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        (xa, ya), (xb, yb) = a.next(), b.next()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert xa.min() >= -1 and xa.max() <= 1 and xa.dtype == torch.float32


def test_epoch_visits_every_image_once():
    data = load_dataset("digits", root="", resolution=8)
    data.labels = torch.arange(len(data))
    s = BatchStream(data, 100, seed=0, device=torch.device("cpu"))
    seen = torch.cat([s.next()[1] for _ in range(17)])
    assert len(np.unique(seen.numpy())) == 1700


def test_digits_rendering_recipe():
    from sngan_cli.data.digits import render_digits

    images = np.zeros((1, 8, 8))
    images[0, 3, 4] = 16
    rendered = render_digits(images, 32)
    assert rendered.dtype == torch.uint8 and rendered.shape == (1, 3, 32, 32)
    assert torch.equal(rendered[:, 0], rendered[:, 1]) and torch.equal(rendered[:, 0], rendered[:, 2])
    assert rendered.max() > 0 and rendered[0, 0, 0, 0] == 0


def test_data_scaling_of_each_reference_code():
    from sngan_cli.data.transforms import to_unit_range

    levels = torch.arange(256, dtype=torch.uint8).repeat(200)
    exact = to_unit_range(levels.clone(), "exact")
    assert exact.min() == -1 and exact.max() == 1 and float(exact[128]) == pytest.approx(128 / 127.5 - 1, abs=1e-6)
    noisy = to_unit_range(levels.clone(), "dequantize")  # x / 128 - 1 + U[0, 1/128)
    offset = noisy - (levels.float() / 128 - 1)
    assert offset.min() >= 0 and offset.max() < 1 / 128 and offset.mean() == pytest.approx(1 / 256, rel=0.05)
    assert noisy.min() >= -1 and noisy.max() < 1


def test_a_split_the_dataset_lacks_is_refused_naming_it(tmp_path):
    with pytest.raises(SnganError, match="dataset.split=valid is not a split of stl10"):
        load_dataset("stl10", str(tmp_path), 48, download=False, split="valid")


def _sixteen_bit_gray(path, level):
    Image.fromarray(np.full((8, 8), level, dtype=np.uint16)).save(path)
    assert Image.open(path).mode in ("I;16", "I")


@pytest.mark.parametrize("level,expected", [(0, 0), (32896, 128), (65535, 255), (257 * 40, 40)])
def test_a_16_bit_png_is_scaled_to_8_bits_in_training_and_eval(level, expected, tmp_path):
    from sngan_cli.data.folder import folder_batches

    _sixteen_bit_gray(tmp_path / "gray16.png", level)
    trained_on = load_dataset("folder", root=str(tmp_path), resolution=8).images
    scored = next(folder_batches(str(tmp_path)))
    assert trained_on.unique().tolist() == [expected]
    assert torch.equal(trained_on, scored)


def test_transparency_is_composited_on_white_in_training_and_eval(tmp_path):
    from sngan_cli.data.folder import folder_batches

    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red under the alpha
    rgba[:, :4, 3] = 255  # left half opaque, right half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    trained_on = load_dataset("folder", root=str(tmp_path), resolution=8).images[0]
    scored = next(folder_batches(str(tmp_path)))[0]
    assert torch.equal(trained_on, scored)
    assert trained_on[:, :, :4].flatten(1).unique(dim=1).tolist() == [[200], [0], [0]]
    assert (trained_on[:, :, 4:] == 255).all()  # white, not the red hidden under alpha 0


def test_the_folder_fingerprint_follows_the_contents(tmp_path):
    import os

    from sngan_cli.data.folder import folder_fingerprint

    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    before = folder_fingerprint(str(tmp_path))
    Image.fromarray(np.full((8, 8, 3), 99, dtype=np.uint8)).save(tmp_path / "1.png")  # replaced, same count
    os.utime(tmp_path / "1.png", ns=(1, 1))
    replaced = folder_fingerprint(str(tmp_path))
    (tmp_path / "notes.txt").write_text("not an image")
    assert before != replaced == folder_fingerprint(str(tmp_path))


def test_a_folder_without_a_root_says_it_has_no_value(tmp_path):
    from sngan_cli.commands import stats

    with pytest.raises(SnganError, match=r"^dataset.root has no value: give dataset.root=/path/to/images$"):
        stats.main(["dataset=folder", "detector=digits-classifier", "device=cpu"])
    with pytest.raises(SnganError, match=r"^dataset.root has no value"):
        load_dataset("folder", root="???", resolution=16)
