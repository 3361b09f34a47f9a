"""Hydra configs of sngan (shipped inside the package so a wheel install finds them)."""
