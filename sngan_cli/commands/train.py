"""``sngan train [overrides]`` / ``sngan train -m ...``: compose the config with Hydra and train.

The run directory is derived from the experiment's choices (see conf/train.yaml), so rerunning a
command, or a whole interrupted sweep, resumes where it stopped.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any, Dict, List

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sngan_cli import SnganError
from sngan_cli.config import register_configs

log = logging.getLogger("sngan.train")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]*$")
MAX_NAME = 100  # the run directory's last part is seed<N>-<name>: file names stop at 255 bytes


def name_suffix(name: str) -> str:
    """'' -> '', 'abc' -> '-abc'; names that could leave the outputs root are refused."""
    if name in ("", None):
        return ""
    name = str(name)
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"name={name!r} is not allowed: use letters, digits and . _ + = , @ - "
                         f"(no '/', no '..', not starting with '.' or '-')")
    if len(name) > MAX_NAME:
        raise ValueError(f"name= is {len(name)} characters long: at most {MAX_NAME} are allowed (it becomes part "
                         f"of a directory name)")
    return f"-{name}"


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("sngan.name_suffix", name_suffix, replace=True)


_failed_runs: Dict[str, str] = {}  # run directory -> why it failed, for this command's sweep


class FailedRunsOfTheSweep(Callback):
    """Collects, in the process that started the sweep, the runs of this sweep that failed, whatever
    launcher ran them: a run in another process (joblib, submitit) records its failure only in its
    ``status.json``, so the sweep directory is searched, once all runs are done, for those written
    since the sweep started with status ``failed``. (conf/train.yaml registers it.)"""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time() - 1  # file times come from a coarser clock

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from sngan_cli.training.guard import read_status

        for folder, _, files in os.walk(config.hydra.sweep.dir):
            if "status.json" not in files or os.path.getmtime(os.path.join(folder, "status.json")) < self.started:
                continue
            status = read_status(folder)
            if status and status.get("status") == "failed":
                _failed_runs.setdefault(os.path.abspath(folder), status.get("error", "failed"))


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def _train(cfg: DictConfig) -> None:
    from sngan_cli.training.loop import train  # imported late: `sngan train --help` stays fast

    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    try:
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
        _failed_runs[os.path.abspath(run_dir)] = f"{type(e).__name__}: {e}"


def check_names(argv: List[str]) -> None:
    """Refuse unsafe run names before Hydra derives a directory from them (sweeps included)."""
    for arg in argv:
        key, _, value = arg.lstrip("+~").partition("=")
        if key == "name":
            for name in value.split(","):
                try:
                    name_suffix(name)
                except ValueError as e:
                    raise SnganError(str(e)) from None


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        lines = lines[:1] + [str(cause).strip().splitlines()[0]]
    text = " ".join(lines).split(" Config search path")[0]
    return re.sub(r"(Available options in '[^']+':) (.*)", lambda m: m.group(1) + " " + ", ".join(m.group(2).split()), text)


def precheck(argv: List[str]) -> None:
    """Compose and validate a single run's config before Hydra starts, so that a bad key, type,
    option or value is one line naming it, and no run directory is created for it. (A sweep's
    jobs are checked by Hydra before the first one starts, and each by validate().)"""
    if any(arg.startswith("-") for arg in argv):  # -m, --help, --cfg ...: Hydra's business
        return
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    from sngan_cli.config import validate

    overrides = [arg for arg in argv if not arg.lstrip("+~").startswith("hydra")]
    try:
        with initialize_config_module("sngan_cli.conf", version_base="1.3"):
            cfg = compose("train", overrides=overrides)
    except OverrideParseException as e:
        raise SnganError(_unparsable(e, overrides)) from None
    except (HydraException, OmegaConfBaseException) as e:
        raise SnganError(_one_line(e)) from None
    validate(cfg)
    check_run_dir(argv)


QUOTING = ("quote a value with non-ASCII letters or any of , [ ] { } ( ) ' \" = : $ \\ for Hydra, inside the "
           "shell's quotes: 'dataset.root=\"/data/my images, 2018\"'")


def _unparsable(error: Exception, overrides: List[str]) -> str:
    """The override Hydra could not parse, and how to quote it (README: paths with spaces)."""
    text = str(error)
    given = next((arg for arg in overrides if arg in text), None)
    return f"{given or _one_line(error)} cannot be parsed as an override: {QUOTING}"


def check_run_dir(argv: List[str]) -> None:
    """Refuse, in one line, a run directory that cannot be created or written (a read-only working
    directory or run), before Hydra tries and prints a traceback."""
    from hydra import compose, initialize_config_module

    try:
        with initialize_config_module("sngan_cli.conf", version_base="1.3"):
            cfg = compose("train", overrides=argv, return_hydra_config=True)
        run_dir = str(cfg.hydra.run.dir)
    except Exception:  # a directory only Hydra itself can resolve (e.g. ${now:...}): Hydra checks it
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
    check_names(argv)
    register_configs()
    register_resolvers()
    precheck(argv)
    sys.argv = ["sngan train", *argv]
    _train()
    if _failed_runs:
        print(f"sngan train: {len(_failed_runs)} run(s) of the sweep failed (rerun the sweep to retry them):",
              *(f"{run_dir}: {why}" for run_dir, why in sorted(_failed_runs.items())), sep="\n  ", file=sys.stderr)
        sys.exit(1)
