"""Every subcommand against hostile inputs (missing, empty, zero-byte, truncated, random bytes, the
wrong kind of file, a read-only target, unicode and spaces in the path): it exits non-zero with one
line on stderr that names the input, prints no traceback, and leaves every file that existed before
unchanged (hashed before and after), with no temp file left behind."""
from __future__ import annotations

import contextlib
import hashlib
import json
import io
import os
import random
import shutil
from typing import Callable, Dict, List, NamedTuple

import numpy as np
import pytest
from PIL import Image

from sngan_cli import cli
from tests.conftest import TINY, read_only, run_sngan

UNICODE = "dír ünï cödé"  # non-ASCII letters and spaces in one path


class Case(NamedTuple):
    args: Callable[[Dict[str, str]], List[str]]  # the command line, from the world's paths
    names: str  # the key of the world's path the error line must contain
    read_only: str = ""  # a world directory made read-only while the command runs


def _png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _images(folder, content: Callable[[int], bytes], n: int = 12) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i:02d}.png").write_bytes(content(i))


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_checkpoint):
    """Hostile files of every kind, a good checkpoint and a good run beside them; name -> path."""
    root = tmp_path_factory.mktemp("hostile")
    good = open(tiny_checkpoint, "rb").read()
    paths: Dict[str, str] = {}

    def put(name: str, relative: str, content=None, folder: bool = False) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        paths[name] = str(path)

    # a checkpoint argument
    put("ckpt_missing", "nothing/here.pt")
    put("ckpt_zero", "zero.pt", b"")
    put("ckpt_truncated", "truncated.pt", good[: len(good) // 2])
    put("ckpt_random", "random.pt", _random_bytes(4096, 1))
    put("ckpt_image", "image.pt", _png_bytes(0))
    put("ckpt_dir", "a-directory.pt", folder=True)
    put("ckpt_unicode", f"{UNICODE}/ch eck.pt", _random_bytes(4096, 2))
    # a folder of images
    put("dir_missing", "no such folder")
    put("dir_file", "a-file", b"")
    put("dir_empty", "empty", folder=True)
    _images(root / "random images", lambda i: _random_bytes(2048, 10 + i))
    paths["dir_random"] = str(root / "random images")
    _images(root / "truncated images", lambda i: _png_bytes(i)[:100])
    paths["dir_truncated"] = str(root / "truncated images")
    _images(root / UNICODE / "ïmages à voir", lambda i: _random_bytes(512, 40 + i))
    paths["dir_unicode"] = str(root / UNICODE / "ïmages à voir")
    _images(root / "good images", _png_bytes)
    paths["dir_good"] = str(root / "good images")
    # reference statistics
    valid = io.BytesIO()
    np.savez(valid, mu=np.zeros(64), sigma=np.eye(64))
    put("npz_missing", "missing.npz")
    put("npz_zero", "zero.npz", b"")
    put("npz_truncated", "truncated.npz", valid.getvalue()[:300])
    put("npz_random", "random.npz", _random_bytes(4096, 3))
    put("npz_image", "image.npz", _png_bytes(1))
    put("npz_unicode", f"{UNICODE}/réf érence.npz", _random_bytes(1024, 4))
    # an earlier bench's results, which a new bench must not replace without overwrite=true
    put("bench_earlier_json", "earlier bench/bench.json", b'{"results": []}')
    paths["bench_earlier"] = str(root / "earlier bench")
    # a run whose only checkpoint is truncated, a good run, and read-only places to write into
    run = root / "runs" / "truncated run"
    shutil.copytree(os.path.dirname(os.path.dirname(tiny_checkpoint)), run)
    (run / "checkpoints" / "last.pt").write_bytes(good[: len(good) // 3])
    for extra in ("previous.pt", "eval.json"):
        (run / "checkpoints" / extra).unlink(missing_ok=True)
    paths["run_truncated"] = str(run)
    shutil.copytree(os.path.dirname(os.path.dirname(tiny_checkpoint)), root / "runs" / "good run")
    paths["run_good"] = str(root / "runs" / "good run")
    ro = root / "read-only"
    shutil.copytree(os.path.dirname(os.path.dirname(tiny_checkpoint)), ro / "run")
    (ro / "run" / "eval.json").unlink(missing_ok=True)
    paths["ro"], paths["ro_ckpt"] = str(ro), str(ro / "run" / "checkpoints" / "last.pt")
    from sngan_cli.metrics.digits_classifier import load_digits_classifier

    load_digits_classifier()  # trained and cached once, like any first evaluation on digits
    cache = root / "read-only cache"
    (cache / "sngan").mkdir(parents=True)
    for name in os.listdir(os.path.join(os.environ["XDG_CACHE_HOME"], "sngan")):
        if name.startswith("digits-classifier"):  # the detector is there; the statistics are not
            shutil.copy(os.path.join(os.environ["XDG_CACHE_HOME"], "sngan", name), cache / "sngan" / name)
    paths["ro_cache"] = str(cache)
    return paths


def _eval_ckpt(key):
    return Case(lambda p: ["eval", f"ckpt={p[key]}", "n=10", "device=cpu"], key)


CHECKPOINT_KINDS = ("ckpt_missing", "ckpt_zero", "ckpt_truncated", "ckpt_random", "ckpt_image", "ckpt_dir",
                    "ckpt_unicode")
FOLDER_KINDS = ("dir_missing", "dir_file", "dir_empty", "dir_random", "dir_truncated", "dir_unicode")
NPZ_KINDS = ("npz_missing", "npz_zero", "npz_truncated", "npz_random", "npz_image", "npz_unicode")
BENCH = ["dataset=digits", "resolution=16", "width=0.125", "norms=spectral", "steps=1", "warmup=0", "batch_size=4",
         "device=cpu"]

CASES: Dict[str, Case] = {}
for kind in CHECKPOINT_KINDS:
    CASES[f"eval-{kind}"] = _eval_ckpt(kind)
    CASES[f"sample-{kind}"] = Case(lambda p, k=kind: ["sample", f"ckpt={p[k]}", "n=2", "out=unused-out"], kind)
    CASES[f"export-{kind}"] = Case(lambda p, k=kind: ["export", f"ckpt={p[k]}", "format=torchscript",
                                                      "out=unused.pt"], kind)
    CASES[f"spectrum-{kind}"] = Case(lambda p, k=kind: ["spectrum", f"ckpt={p[k]}", "device=cpu"], kind)
for kind in FOLDER_KINDS:
    CASES[f"eval-images-{kind}"] = Case(lambda p, k=kind: ["eval", f"images={p[k]}", "reference=digits",
                                                            "device=cpu"], kind)
    CASES[f"eval-reference-{kind}"] = Case(lambda p, k=kind: ["eval", f"images={p['dir_good']}", f"reference={p[k]}",
                                                               "detector=digits-classifier", "device=cpu"], kind)
    CASES[f"stats-{kind}"] = Case(lambda p, k=kind: ["stats", "dataset=folder", f"dataset.root={p[k]}",
                                                     "detector=digits-classifier", "device=cpu"], kind)
    CASES[f"report-{kind}"] = Case(lambda p, k=kind: ["report", p[k], "out=unused-report"], kind)
for kind in NPZ_KINDS:
    CASES[f"eval-reference-{kind}"] = Case(lambda p, k=kind: ["eval", f"images={p['dir_good']}", f"reference={p[k]}",
                                                              "detector=digits-classifier", "device=cpu"], kind)
CASES.update({
    "eval-read-only-run": Case(lambda p: ["eval", f"ckpt={p['ro_ckpt']}", "n=10", "device=cpu"], "ro", "ro"),
    "spectrum-read-only-run": Case(lambda p: ["spectrum", f"ckpt={p['ro_ckpt']}", "device=cpu"], "ro", "ro"),
    "sample-read-only-out": Case(lambda p: ["sample", f"ckpt={p['ro_ckpt']}", "n=2", f"out={p['ro']}/samples"],
                                 "ro", "ro"),
    "export-read-only-out": Case(lambda p: ["export", f"ckpt={p['ro_ckpt']}", "format=torchscript",
                                            f"out={p['ro']}/g.pt"], "ro", "ro"),
    "report-read-only-out": Case(lambda p: ["report", p["run_good"], f"out={p['ro']}/report"], "ro", "ro"),
    "bench-read-only-out": Case(lambda p: ["bench", *BENCH, f"out={p['ro']}/bench"], "ro", "ro"),
    "bench-out-is-a-file": Case(lambda p: ["bench", *BENCH, f"out={p['ckpt_zero']}"], "ckpt_zero"),
    "bench-out-holds-earlier-results": Case(lambda p: ["bench", *BENCH, f"out={p['bench_earlier']}"], "bench_earlier"),
    # a part of out= is a file (out=notes.txt/G.pt): named, not the system's "File exists"
    "report-out-is-a-file": Case(lambda p: ["report", p["run_good"], f"out={p['ckpt_zero']}"], "ckpt_zero"),
    "report-out-under-a-file": Case(lambda p: ["report", p["run_good"], f"out={p['ckpt_zero']}/report"],
                                    "ckpt_zero"),
    "bench-out-under-a-file": Case(lambda p: ["bench", *BENCH, f"out={p['ckpt_zero']}/bench"], "ckpt_zero"),
    "sample-out-under-a-file": Case(lambda p: ["sample", f"ckpt={p['ro_ckpt']}", "n=2", f"out={p['ckpt_zero']}/s"],
                                    "ckpt_zero"),
    "export-out-under-a-file": Case(lambda p: ["export", f"ckpt={p['ro_ckpt']}", "format=torchscript",
                                               f"out={p['ckpt_zero']}/G.pt"], "ckpt_zero"),
    "stats-read-only-cache": Case(lambda p: ["stats", "dataset=digits", "dataset.resolution=16", "device=cpu"],
                                  "ro_cache", "ro_cache"),
})
# sngan train runs in a subprocess (Hydra owns the process): slower, so only with the slow tests
TRAIN_CASES: Dict[str, Case] = {
    # quoted for Hydra, as README says paths with non-ASCII letters must be
    **{f"train-{kind}": Case(lambda p, k=kind: ["dataset=folder", f'dataset.root="{p[k]}"'], kind)
       for kind in FOLDER_KINDS},
    "train-dir_unicode-unquoted": Case(lambda p: ["dataset=folder", f"dataset.root={p['dir_unicode']}"], "dir_unicode"),
    "train-truncated-checkpoint": Case(lambda p: [f"hydra.run.dir={p['run_truncated']}"], "run_truncated"),
    "train-read-only-run": Case(lambda p: [f"hydra.run.dir={p['ro']}/run"], "ro", "ro"),
}


def _hashes(root: str) -> Dict[str, str]:
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name == ".lock":  # a run's lock file: every process that takes the lock writes its pid there
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def _check(world, case: Case, code: int, stderr: str) -> None:
    assert code not in (0, None), stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.strip() and not line.startswith("sngan: warning:")]
    assert len(errors) == 1, stderr
    assert world[case.names] in errors[0], f"{errors[0]!r} does not name {world[case.names]!r}"


def _unchanged(world, run) -> None:
    root = os.path.dirname(world["ckpt_zero"])
    before = _hashes(root)
    run()
    after = _hashes(root)
    assert {path: after.get(path) for path in before} == before
    assert not [path for path in after if os.path.basename(path).startswith(".tmp-")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_command_refuses_hostile_input_in_one_line_and_changes_nothing(name, world, tmp_path, capsys,
                                                                             monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    if case.names == "ro_cache":
        monkeypatch.setenv("XDG_CACHE_HOME", world["ro_cache"])
    outcome = {}

    def run():
        capsys.readouterr()
        with read_only(world[case.read_only]) if case.read_only else _nothing():
            with pytest.raises(SystemExit) as exit_:
                cli.main(case.args(world))
        outcome.update(code=exit_.value.code, stderr=capsys.readouterr().err)

    _unchanged(world, run)
    _check(world, case, outcome["code"], outcome["stderr"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TRAIN_CASES))
def test_train_refuses_hostile_input_in_one_line_and_changes_nothing(name, world, tmp_path):
    case = TRAIN_CASES[name]
    outcome = {}

    def run():
        with read_only(world[case.read_only]) if case.read_only else _nothing():
            proc = run_sngan("train", *TINY, "train.steps=1", *case.args(world), cwd=str(tmp_path), check=False)
        outcome.update(code=proc.returncode, stderr=proc.stderr)

    _unchanged(world, run)
    _check(world, case, outcome["code"], outcome["stderr"])


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("name", ["bench-out-under-a-file", "sample-out-under-a-file", "export-out-under-a-file",
                                  "report-out-under-a-file"])
def test_a_file_in_the_out_path_is_named_as_such(name, world, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli.main(CASES[name].args(world))
    err = capsys.readouterr().err
    assert f"{world['ckpt_zero']} is a file, not a directory" in err and "File exists" not in err, err


# the files of a run the report reads, and hostile contents for each: the report lists one problem
# per file and goes on (the other runs' numbers stand), and changes none of them
RUN_FILES = ("eval.json", "eval_ema.json", "status.json", "metrics.jsonl", os.path.join(".hydra", "config.yaml"))
HOSTILE_CONTENT = {"zero-byte": b"", "truncated": b'{"inception_score_mean": 7.', "random": _random_bytes(300, 7),
                   "list": b"[1, 2]", "string": b'"x"', "record-string": b'{"step": 1, "record": "x"}'}


def test_report_lists_each_hostile_file_of_a_run_once_and_goes_on(tmp_path, capsys):
    from omegaconf import OmegaConf

    from tests.conftest import compose_train
    from tests.reporting.conftest import write_run

    base = OmegaConf.to_container(compose_train(), resolve=True)
    root = tmp_path / UNICODE
    write_run(root, base, "good/seed0", "sn_gan", "C", 0, is_=7.0, fid=30.0)
    hostile = {}
    for i, (file_name, (kind, content)) in enumerate((f, k) for f in RUN_FILES for k in HOSTILE_CONTENT.items()):
        run = write_run(root, base, f"bad/{kind}-{RUN_FILES.index(file_name)}", "sn_gan", "C", i + 1,
                        is_=7.0, fid=30.0)
        (run / file_name).write_bytes(content)
        hostile[os.path.relpath(run, root)] = os.path.basename(file_name)
    before = _hashes(str(root))
    cli.main(["report", str(root)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err == ""
    missing = json.loads((root / "report" / "sources.json").read_text())["missing"]
    found = []
    for rel, file_name in hostile.items():
        about_the_file = [line for line in missing if line.startswith(f"{rel}: ") and file_name in line]
        if rel in ("bad/zero-byte-3", "bad/record-string-2"):
            continue  # an empty metrics.jsonl: no evaluation yet; a status object without a status: unknown
        found.append((rel, about_the_file))
    wrong = [(rel, len(lines)) for rel, lines in found if len(lines) != 1]
    assert not wrong, "\n".join(missing)
    assert not [line for line in missing if line.startswith("good/")]
    assert {path: h for path, h in _hashes(str(root)).items() if "/report/" not in path} == before


# The caches an evaluation with metrics=kid reads (the statistics and the real features beside them),
# each made hostile in its own copy of a good cache: refused in one line naming the file, unchanged.
KID_EVAL = ["eval", "reference=digits", "detector=digits-classifier", "metrics=kid", "device=cpu"]


def _kid_eval(world, cache_dir: str, capsys, monkeypatch) -> tuple:
    monkeypatch.setenv("XDG_CACHE_HOME", cache_dir)
    capsys.readouterr()
    try:
        cli.main([*KID_EVAL, f"images={world['dir_good']}"])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def _stats_files(cache_dir) -> tuple:
    stats = os.path.join(str(cache_dir), "sngan", "stats")
    (features,) = [os.path.join(stats, n) for n in os.listdir(stats) if n.startswith("real-features-")]
    (statistics,) = [os.path.join(stats, n) for n in os.listdir(stats) if n.startswith("fid-stats-")]
    return statistics, features


def _npz_without_record(statistics: str, shift: float = 0.0) -> None:
    with np.load(statistics) as f:
        mu, sigma = f["mu"], f["sigma"]
    with open(statistics, "wb") as f:
        np.savez(f, mu=mu + shift, sigma=sigma)  # as pytorch-fid writes them


def _replace_features(values: Callable[[np.ndarray], np.ndarray], pickled: bool = False):
    def corrupt(statistics: str, features: str) -> None:
        good = np.load(features)
        with open(features, "wb") as f:
            np.save(f, values(good), allow_pickle=pickled)
    return corrupt


def _other_statistics(statistics: str, features: str) -> None:
    _npz_without_record(statistics, shift=1.0)


def _other_statistics_no_features(statistics: str, features: str) -> None:
    _npz_without_record(statistics, shift=1.0)
    os.unlink(features)


# name -> (how the good cache is made hostile, which of its files the error line must name)
CACHE_CASES = {
    "features-random": (_replace_features(lambda f: np.random.default_rng(0).normal(size=f.shape).astype(f.dtype)),
                        "features"),
    "features-str": (_replace_features(lambda f: np.full(f.shape, "x")), "features"),
    "features-structured": (_replace_features(lambda f: np.zeros(f.shape, dtype=[("a", "f4")])), "features"),
    "features-object": (_replace_features(lambda f: f.astype(object), pickled=True), "features"),
    "stats-without-record-of-other-images": (_other_statistics, "statistics"),
    "stats-without-record-of-other-images-no-features": (_other_statistics_no_features, "statistics"),
}


@pytest.fixture(scope="module")
def good_kid_cache(world, tmp_path_factory):
    """A cache holding the digits classifier, and the statistics and real features a KID evaluation of
    the good images made; with that evaluation's output."""
    cache = tmp_path_factory.mktemp("kid cache")
    (cache / "sngan").mkdir()
    for name in os.listdir(world["ro_cache"] + "/sngan"):
        shutil.copy(os.path.join(world["ro_cache"], "sngan", name), cache / "sngan" / name)
    saved = os.environ["XDG_CACHE_HOME"]
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            cli.main([*KID_EVAL, f"images={world['dir_good']}"])
    finally:
        os.environ["XDG_CACHE_HOME"] = saved
    return cache, json.loads(buffer.getvalue())


@pytest.mark.parametrize("name", sorted(CACHE_CASES))
def test_a_hostile_kid_cache_is_refused_in_one_line_naming_the_file(name, world, good_kid_cache, tmp_path, capsys,
                                                                    monkeypatch):
    corrupt, names = CACHE_CASES[name]
    cache = tmp_path / "cache"
    shutil.copytree(good_kid_cache[0], cache)
    statistics, features = _stats_files(cache)
    corrupt(statistics, features)
    monkeypatch.chdir(tmp_path)
    before = _hashes(str(cache))
    code, _, err = _kid_eval(world, str(cache), capsys, monkeypatch)
    assert _hashes(str(cache)) == before
    _check({"file": statistics if names == "statistics" else features}, Case(lambda p: [], "file"), code, err)


@pytest.mark.slow
def test_statistics_without_a_record_serve_the_features_they_match(world, good_kid_cache, tmp_path, capsys,
                                                                   monkeypatch):
    cache = tmp_path / "cache"
    shutil.copytree(good_kid_cache[0], cache)
    _npz_without_record(_stats_files(cache)[0])
    code, out, err = _kid_eval(world, str(cache), capsys, monkeypatch)
    assert code == 0 and "Traceback" not in err, err
    assert json.loads(out)["kid_mean"] == pytest.approx(good_kid_cache[1]["kid_mean"], rel=1e-6)


@pytest.mark.slow
def test_following_the_advice_on_statistics_of_other_images_gives_the_kid(world, good_kid_cache, tmp_path, capsys,
                                                                          monkeypatch):
    cache = tmp_path / "cache"
    shutil.copytree(good_kid_cache[0], cache)
    statistics, features = _stats_files(cache)
    _other_statistics(statistics, features)
    code, _, err = _kid_eval(world, str(cache), capsys, monkeypatch)
    assert code == 1 and "delete both to recompute them" in err, err
    os.unlink(statistics)
    os.unlink(features)
    code, out, err = _kid_eval(world, str(cache), capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["kid_mean"] == pytest.approx(good_kid_cache[1]["kid_mean"], rel=1e-6)
