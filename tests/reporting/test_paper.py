"""The paper's numbers, checked against Tables 2 and 7 of the paper."""
from __future__ import annotations

from sngan_cli.reporting.paper import REAL_DATA, TABLE2, TABLE7, paper_dataset

ROWS = {row.key: row for row in TABLE2}


def test_table2_numbers():
    sn = ROWS["sn_gan"].paper
    assert (sn["cifar10"].is_mean, sn["cifar10"].is_std, sn["cifar10"].fid) == (7.42, 0.08, 29.3)
    assert (sn["stl10"].is_mean, sn["stl10"].fid) == (8.28, 53.1)
    assert ROWS["sn_gan_hinge"].paper["cifar10"].fid == 25.5
    assert "stl10" not in ROWS["gan_gp"].paper and "cifar10" not in ROWS["sn_gan_2x"].paper
    assert ROWS["resnet_orthonormal_hinge"].paper["stl10"].fid_std == 0.99
    assert ROWS["clip"].paper["stl10"].fid == 64.2
    assert REAL_DATA["stl10"].is_mean == 26.08


def test_table7_numbers():
    rows = {row.key: row for row in TABLE7}
    assert rows["cnn_sn"].paper["cifar10"].fid == 32.0
    assert rows["resnet_sn_wide_d"].paper["cifar10"].is_mean == 7.96
    assert rows["cnn_weight"].paper["cifar10"].is_mean == 6.36 and rows["cnn_weight"].norm == "weight_gamma"
    assert rows["cnn_frobenius"].norm == "frobenius_gamma" and rows["cnn_frobenius"].paper["cifar10"].is_mean is None
    assert all(row.norm is not None for row in TABLE7)  # every row is trainable


def test_paper_dataset():
    assert [paper_dataset(d) for d in ("cifar10", "stl10", "digits")] == ["cifar10", "stl10", "cifar10"]
