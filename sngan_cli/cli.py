"""The ``sngan`` command: ``sngan <command> [key=value ...]``."""
from __future__ import annotations

import importlib
import sys
import warnings
from typing import List, Optional

from sngan_cli import SnganError, __version__

COMMANDS = {
    "train": ("sngan_cli.commands.train", "train one run, or a sweep with -m (Hydra overrides)"),
    "eval": ("sngan_cli.commands.eval", "Inception Score and FID of a checkpoint or an image folder"),
    "stats": ("sngan_cli.commands.stats", "precompute a dataset's real-image statistics for FID"),
    "sample": ("sngan_cli.commands.sample", "images from a checkpoint: PNG files, npz, grid, interpolations"),
    "export": ("sngan_cli.commands.export", "the generator as a standalone TorchScript or ONNX file"),
    "report": ("sngan_cli.commands.report", "Table 2, Figures 1-2 and more from the runs under a directory"),
    "spectrum": ("sngan_cli.commands.spectrum", "singular values of D's effective weights (Figure 3)"),
    "bench": ("sngan_cli.commands.bench", "time per 100 generator updates for each normalizer (Figure 10)"),
}

USAGE = "usage: sngan <command> [key=value ...]\n\ncommands:\n" + "\n".join(
    f"  {name:<10} {help}" for name, (_, help) in COMMANDS.items()
) + "\n\n`sngan train --help` lists the config groups and their options."


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"sngan: warning: {message}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    warnings.showwarning = _print_warning  # one line per warning, without the source line
    if not argv:  # a command is required: the usage goes to stderr, and the exit status says so
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    if argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    if argv[0] in ("-V", "--version"):
        print(f"sngan {__version__}")
        return
    command = argv[0]
    if command not in COMMANDS:
        print(f"sngan: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(COMMANDS[command][0])
    try:
        module.main(argv[1:])
    except SnganError as e:
        print(f"sngan {command}: error: {one_line(str(e))}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:  # a read-only or full target that no SnganError named yet: one line naming the file
        print(f"sngan {command}: error: {describe(e)}", file=sys.stderr)
        sys.exit(1)


def one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def describe(error: OSError) -> str:
    from sngan_cli.atomic import describe_os_error

    names = [str(n) for n in (error.filename, error.filename2) if n is not None]
    return f"{' -> '.join(names) or 'a file operation failed'}: {describe_os_error(error)}"
