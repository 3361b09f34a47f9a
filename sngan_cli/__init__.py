"""sngan: an experiment runner for Spectral Normalization for GANs (Miyato et al., ICLR 2018)."""

__version__ = "0.1.0"


class SnganError(Exception):
    """An error the user can fix; the CLI prints its message as one line, without a traceback."""
