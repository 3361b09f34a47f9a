"""The paper's tables and figures rebuilt from run directories (``sngan report``), the singular
values of a trained D (``sngan spectrum``, Figure 3) and the cost of each normalizer (``sngan bench``,
Figure 10). One module per table or figure; ``runs`` reads what training and evaluation wrote."""
