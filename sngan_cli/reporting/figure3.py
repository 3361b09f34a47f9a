"""Figure 3: squared singular values of each D layer's effective weight, scaled so the largest is 1,
against their index (one line per layer), as the paper plots them per method."""
from __future__ import annotations

from typing import List

from sngan_cli.reporting.plotting import color, new_figure, save_png
from sngan_cli.reporting.spectrum import LayerSpectrum


def write_figure3(path: str, title: str, layers: List[LayerSpectrum]) -> None:
    fig, (ax,) = new_figure(1, 1, (7.0, 4.5))
    for i, layer in enumerate(layers):
        top = layer.singular_values[0] ** 2 if layer.singular_values and layer.singular_values[0] > 0 else 1.0
        ax.plot(range(len(layer.singular_values)), [s * s / top for s in layer.singular_values],
                color=color(i), marker="." if len(layer.singular_values) < 8 else None, label=layer.name)
    ax.set_xlabel("index of the singular value")
    ax.set_ylabel("σ_i² / σ_max²")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small")
    ax.set_title(title, fontsize="small")
    fig.suptitle("Figure 3: squared singular values of D's effective weights")
    save_png(fig, path)
