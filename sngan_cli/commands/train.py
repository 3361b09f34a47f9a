"""``sngan train [overrides]`` / ``sngan train -m ...``: compose the config with Hydra and train.

The run directory is derived from the experiment's choices (see conf/train.yaml), so rerunning a
command, or a whole interrupted sweep, resumes where it stopped. The config a run trains with is
the one validated, as each run or sweep job starts; a single run's is also composed and validated
by :func:`precheck` before Hydra starts, so that a bad value creates no run directory. Before a
sweep starts, :func:`check_sweep` refuses one whose jobs would share a run directory.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Dict, List, Optional, Tuple

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sngan_cli import SnganError
from sngan_cli.config import check_names, compose, register_resolvers, validate
from sngan_cli.run_dir import read_status
from sngan_cli.training.guard import failed_runs

log = logging.getLogger("sngan.train")


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def _train(cfg: DictConfig) -> None:
    from sngan_cli.training.loop import train  # imported late: `sngan train --help` stays fast

    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    try:
        validate(cfg)  # the copy that trains (Hydra composed it again from the same overrides)
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
    own flags, only as each starts)."""
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


MULTIRUN_FLAGS = ("-m", "--multirun")


def sweep_run_dirs(argv: List[str]) -> Optional[List[Tuple[List[str], str]]]:
    """Each job of the sweep ``sngan train -m <argv>`` (its overrides) and its run directory, derived
    as Hydra derives them: the base config composed for a multirun, its basic sweeper's cross product
    of ``hydra.sweeper.params`` (an experiment's) and the command line, each job's config composed from
    its overrides, the directory ``hydra.sweep.dir``/``hydra.sweep.subdir`` with ``hydra.job.num`` set
    as the launchers set it. None where Hydra alone can say: its other flags, another sweeper, a config
    Hydra refuses (it then says why), a directory only a job can resolve."""
    if not any(arg in MULTIRUN_FLAGS for arg in argv):
        return None
    overrides = [arg for arg in argv if arg not in MULTIRUN_FLAGS]
    if any(arg.startswith("-") for arg in overrides):
        return None
    from hydra import initialize_config_module
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    from sngan_cli.config.schema import register_configs

    register_configs()
    register_resolvers()
    try:
        with initialize_config_module("sngan_cli.conf", version_base="1.3"):
            hydra_app = GlobalHydra.instance().hydra
            base = hydra_app.compose_config("train", overrides, run_mode=RunMode.MULTIRUN)
            sweeper = base.hydra.sweeper
            if sweeper.get("_target_") != f"{BasicSweeper.__module__}.{BasicSweeper.__name__}":
                return None
            params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
            task = OmegaConf.to_container(base.hydra.overrides.task, resolve=False)
            parsed = OverridesParser.create(config_loader=hydra_app.config_loader).parse_overrides(params + task)
            jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
            out = []
            for num, job in enumerate(jobs):
                cfg = hydra_app.config_loader.load_sweep_config(base, list(job))
                with open_dict(cfg.hydra.job):
                    cfg.hydra.job.num = num
                out.append((list(job), os.path.join(str(cfg.hydra.sweep.dir), str(cfg.hydra.sweep.subdir))))
            return out
    except (HydraException, OmegaConfBaseException, ValueError):
        return None


def check_sweep(argv: List[str]) -> None:
    """Refuse, before any job trains, a sweep two of whose jobs would train in one run directory: one
    would train, the others fail (the directory holds another configuration), whatever the reruns.
    That happens when the sweep varies a key the directory's name (conf/train.yaml) does not hold."""
    jobs = sweep_run_dirs(argv)
    if not jobs:
        return
    by_dir: Dict[str, List[Dict[str, str]]] = {}
    for job, run_dir in jobs:
        by_dir.setdefault(run_dir, []).append(dict(arg.partition("=")[::2] for arg in job))
    shared = {run_dir: group for run_dir, group in by_dir.items() if len(group) > 1}
    if not shared:
        return
    keys = sorted({key for group in shared.values() for key in group[0]
                   if len({job.get(key) for job in group}) > 1}) or ["none of their overrides (the same job twice)"]
    run_dir, group = next(iter(shared.items()))
    where = (f"one run directory, {run_dir}" if len(shared) == 1 else
             f"{len(shared)} run directories (e.g. {run_dir})")
    example = next((f"{key}={group[0][key]}" for key in keys if key in group[0]), "...")
    raise SnganError(
        f"{sum(len(g) for g in shared.values())} jobs of the sweep would train in {where}: they differ in "
        f"{', '.join(keys)}, which the run directory's name does not hold, so one would train and the others "
        f"fail; give each job its own name=...: one sweep per value ({example} name=<label>, then the next), or an "
        f"experiment config that names its runs after the key (name: dlast${{arch.d_last_channels}} in "
        f"conf/experiment/figure4_stl10.yaml)")


def launch_sweep(argv: List[str]) -> None:
    """Run Hydra's multirun, a launcher's failure one line: a job that ended without a result (killed,
    out of memory: submitit's UncompletedJobError, joblib's TerminatedWorkerError) stops the launcher
    with a traceback of its own, so Hydra's error printing is set aside (HYDRA_FULL_ERROR) and the
    error is said with the sweep's runs that have not finished, which a rerun resumes."""
    from hydra.errors import CompactHydraException

    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        _train()
    except CompactHydraException as e:  # a config Hydra refuses: its own one message
        raise SnganError(" ".join(str(x) for x in (e, e.__cause__) if x is not None)) from None
    except Exception as e:
        if previous == "1":
            raise
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        unfinished = [run_dir for _, run_dir in sweep_run_dirs(argv) or []
                      if (read_status(run_dir) or {}).get("status") != "finished"]
        runs = f"; runs not finished: {', '.join(unfinished)}" if unfinished else ""
        raise SnganError(f"the sweep's launcher stopped: {type(e).__name__}: {first}{runs}; rerun the same "
                         f"command to resume them (HYDRA_FULL_ERROR=1 shows the traceback)") from None
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def main(argv: List[str]) -> None:
    from sngan_cli.config.schema import register_configs  # torch and the registries

    check_names(argv)
    register_configs()
    register_resolvers()
    precheck(argv)
    check_sweep(argv)
    sys.argv = ["sngan train", *argv]
    if any(arg in MULTIRUN_FLAGS for arg in argv):
        launch_sweep(argv)
    else:
        _train()
    if failed_runs:
        print(f"sngan train: {len(failed_runs)} run(s) of the sweep failed (rerun the sweep to retry them):",
              *(f"{run_dir}: {why}" for run_dir, why in sorted(failed_runs.items())), sep="\n  ", file=sys.stderr)
        sys.exit(1)
