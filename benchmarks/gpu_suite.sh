#!/usr/bin/env bash
# The GPU figures of benchmarks/RESULTS.md in one go (meant to fit one 10-minute call on an H100/H200;
# the full suite of 2026-12-04 took 9.4 minutes before its last step, so the 48 px rows are left out
# unless FULL=1, and what no GPU has confirmed yet comes first):
#
#   bash benchmarks/gpu_suite.sh [LOG]        # LOG defaults to benchmarks/gpu_suite.log
#   QUICK=1 bash benchmarks/gpu_suite.sh      # the same steps, tiny, to check the script on a CPU
#   FULL=1 bash benchmarks/gpu_suite.sh       # with the 48 px rows (needs more than one call's time)
#
# 1. a short digits run with CUDA graphs, trained to the end and evaluated, next to one without;
# 2. time per generator update with train.cuda_graphs=true and with train.compile=true (CNN, none and spectral);
# 3. time per generator update and peak memory, runner vs the plain-PyTorch reference, eager (the defaults);
# 4. evaluator throughput and a whole IS+FID evaluation beside torch-fidelity (5k + 10k images).
# Each step is printed with its command; a failing step is reported and the next one runs.
# PYTHON selects the interpreter (default: .venv/bin/python if present, else python3). Where that
# interpreter lacks Hydra (a bare GPU machine with torch only) and a folder .whl/ holds the wheels
# (hydra-core, omegaconf, antlr4-python3-runtime, pytorch-fid, torch-fidelity), they are installed
# into a scratch folder first, offline.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=${1:-benchmarks/gpu_suite.log}
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
WORK=$(mktemp -d)
if ! "$PY" -c "import hydra, omegaconf" 2>/dev/null && [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

if [ -n "${QUICK:-}" ]; then
  WIDTH=0.125; SPEED="--steps 1 --rounds 1 --warmup 1 --resolutions 32"
  EVAL_N=64; FID_SIZES=64:64; STEPS=4; NORMS="none spectral"; ARCHS=cnn
else
  WIDTH=1.0; SPEED="--steps 20 --rounds 3 --warmup 5"
  EVAL_N=5000; FID_SIZES=5000:10000; STEPS=300; NORMS="none spectral weight gp"; ARCHS="cnn resnet"
  [ -n "${FULL:-}" ] || SPEED="$SPEED --resolutions 32"
fi

step() {
  echo
  echo "\$ $*"
  "$@" || echo "!! step failed with exit status $?: $*"
}

{
  echo "# gpu_suite $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

  # the same short run without and with CUDA graphs: both finish, and their IS/FID are comparable
  for graphs in true false; do
    run="$WORK/graphs_$graphs"
    step "$PY" -m sngan_cli train dataset=digits arch.width=0.25 train.steps="$STEPS" train.log_every=50 \
      train.ckpt_every="$STEPS" train.sample_every="$STEPS" train.cuda_graphs="$graphs" hydra.run.dir="$run"
    step "$PY" -m sngan_cli eval run="$run"
    [ -f "$run/eval.json" ] && echo "eval.json (cuda_graphs=$graphs): $(cat "$run/eval.json")"
  done

  for option in train.cuda_graphs=true train.compile=true; do
    # shellcheck disable=SC2086  # the option strings are word lists on purpose
    step "$PY" benchmarks/train_speed.py --width $WIDTH --norms none spectral --archs cnn $SPEED --runner-options "$option"
  done
  # shellcheck disable=SC2086
  step "$PY" benchmarks/train_speed.py --width $WIDTH --norms $NORMS --archs $ARCHS $SPEED
  # shellcheck disable=SC2086  # peak memory: one fresh process per loop, so 32 px only
  step "$PY" benchmarks/train_speed.py --norms $NORMS --archs $ARCHS --width $WIDTH --resolutions 32 --steps 1 --rounds 1 --memory
  step "$PY" benchmarks/evaluators.py --n "$EVAL_N"
  step "$PY" benchmarks/fid_wall_time.py --sizes "$FID_SIZES"
} 2>&1 | tee "$LOG"
rm -rf "$WORK"
echo "written: $LOG"
