"""A run's row of Table 2 / Table 7 from its config, and the ablations that keep it out."""
from __future__ import annotations

from sngan_cli.reporting.methods import deviations, method_row, table1_n_dis, table2_row, table7_row
from sngan_cli.reporting.runs import Run


def _run(arch="cnn", norm="spectral", loss="standard", setting="C", n_dis=None, name="", d_width=1.0, d_last=None):
    n_dis = table1_n_dis()[setting] if n_dis is None else n_dis
    config = {"arch": {"name": arch, "d_width": d_width, "d_last_channels": d_last}, "norm": {"name": norm},
              "loss": {"name": loss}, "setting": {"name": setting, "n_dis": n_dis}, "name": name, "seed": 0}
    return Run(path="/r", rel="r", config=config, status=None, eval=None)


def test_table1_n_dis_is_read_from_the_shipped_settings():
    expected = {"A": 5, "B": 1, "C": 1, "D": 5, "E": 5, "F": 5, "resnet": 5}
    assert {k: v for k, v in table1_n_dis().items() if k in expected} == expected


def test_rows_of_table2():
    assert table2_row(_run()).key == "sn_gan"
    assert table2_row(_run(loss="hinge", name="2x")).key == "sn_gan_hinge_2x"
    assert table2_row(_run(norm="gp", loss="wasserstein", setting="A")).key == "wgan_gp"
    assert table2_row(_run(norm="gp")).key == "gan_gp"
    assert table2_row(_run(arch="resnet", loss="hinge", setting="resnet")).key == "resnet_sn_gan_hinge"
    assert table2_row(_run(name="mini")).key == "sn_gan"  # only the name 2x marks a row
    assert table2_row(_run(norm="none")) is None


def test_ablations_leave_table2_but_keep_their_method():
    assert deviations(_run(setting="D", n_dis=1)) == {"setting.n_dis"}
    assert deviations(_run(d_last=64)) == {"arch.d_last_channels"}
    assert table2_row(_run(d_last=64)) is None
    assert method_row(_run(d_last=64)).key == "sn_gan"
    assert method_row(_run(norm="frobenius")).label == "cnn / norm=frobenius / loss=standard"


def test_rows_of_table7():
    wide = _run(arch="resnet", norm="spectral_gamma", loss="wasserstein", setting="resnet", d_width=1.5)
    assert table7_row(wide).key == "resnet_sn_wide_d"
    assert table7_row(_run(norm="gp", loss="wasserstein", setting="A")).key == "cnn_baseline"
    assert table7_row(_run(norm="spectral_gamma", loss="wasserstein", setting="A")).key == "cnn_sn"
    assert table7_row(_run(norm="weight_gamma", loss="wasserstein", setting="A")).key == "cnn_weight"
    assert table7_row(_run(norm="frobenius_gamma", loss="wasserstein", setting="A")).key == "cnn_frobenius"
    assert table7_row(_run()) is None
