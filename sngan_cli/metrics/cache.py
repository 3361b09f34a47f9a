"""Where sngan caches derived files (detector weights, real-data statistics) and how it identifies
them: by SHA-256, so every number can say which weights produced it (the README's Evaluation section).

The files themselves are written with :func:`sngan_cli.atomic.atomic_write`, so an interrupted run
never leaves a half-written file that a later run would trust.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/sngan`, by default `~/.cache/sngan`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "sngan"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
