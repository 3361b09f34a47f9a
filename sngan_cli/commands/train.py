"""``sngan train [overrides]`` / ``sngan train -m ...``: compose the config with Hydra and train.

The run directory is derived from the experiment's choices (see conf/train.yaml), so rerunning a
command, or a whole interrupted sweep, resumes where it stopped. A run's config is validated once:
a single run's by :func:`precheck`, before Hydra starts, a sweep's jobs each as it starts.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import List

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sngan_cli import SnganError
from sngan_cli.config import check_names, compose, register_resolvers, validate
from sngan_cli.training.guard import failed_runs

log = logging.getLogger("sngan.train")

_prechecked = False  # precheck() composed and validated this process's single run


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def _train(cfg: DictConfig) -> None:
    from sngan_cli.training.loop import train  # imported late: `sngan train --help` stays fast

    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    try:
        if not _prechecked:  # a sweep's job (or a run Hydra's own flags left unchecked)
            validate(cfg)
        train(cfg, run_dir)
    except Exception as e:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            if isinstance(e, (SnganError, OSError)):
                from sngan_cli.cli import describe, one_line

                print(f"sngan train: error: {one_line(str(e)) if isinstance(e, SnganError) else describe(e)}",
                      file=sys.stderr)
                sys.exit(1)
            raise
        # one failing run must not stop a sweep: record it (status.json has it too) and go on
        log.error("run %s failed: %s", run_dir, e)
        failed_runs[os.path.abspath(run_dir)] = f"{type(e).__name__}: {e}"


def precheck(argv: List[str]) -> bool:
    """Compose and validate a single run's config before Hydra starts, so that a bad key, type,
    option or value is one line naming it, and no run directory is created for it; then refuse a run
    directory that cannot be written. Returns whether it did (a sweep's jobs, and runs given Hydra's
    own flags, are validated as each starts)."""
    if any(arg.startswith("-") for arg in argv):  # -m, --help, --cfg ...: Hydra's business
        return False
    cfg = compose(argv, hydra=True)
    validate(cfg)
    check_run_dir(cfg)
    return True


def check_run_dir(cfg: DictConfig) -> None:
    """Refuse, in one line, a run directory that cannot be created or written (a read-only working
    directory or run), before Hydra tries and prints a traceback."""
    try:
        run_dir = str(cfg.hydra.run.dir)
    except Exception:  # a directory only Hydra itself can resolve (e.g. ${hydra:...}): Hydra checks it
        return
    try:
        os.makedirs(run_dir, exist_ok=True)
        import tempfile

        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as e:
        from sngan_cli.atomic import describe_os_error

        raise SnganError(f"the run directory {run_dir} cannot be written ({describe_os_error(e)}): run from a "
                         f"writable directory or choose one with hydra.run.dir=...") from None


def main(argv: List[str]) -> None:
    from sngan_cli.config.schema import register_configs  # torch and the registries

    global _prechecked
    check_names(argv)
    register_configs()
    register_resolvers()
    _prechecked = precheck(argv)
    sys.argv = ["sngan train", *argv]
    _train()
    if failed_runs:
        print(f"sngan train: {len(failed_runs)} run(s) of the sweep failed (rerun the sweep to retry them):",
              *(f"{run_dir}: {why}" for run_dir, why in sorted(failed_runs.items())), sep="\n  ", file=sys.stderr)
        sys.exit(1)
