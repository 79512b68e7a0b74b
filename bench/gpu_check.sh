#!/usr/bin/env bash
# The GPU check, in one command, on a machine with an NVIDIA GPU:
#
#     bash bench/gpu_check.sh [OUTPUT_DIR]      (default: gpu_check/)
#
# 1. installs what the machine lacks from requirements.txt, never TensorFlow or JAX themselves: a GPU
#    machine may carry JAX with CUDA and no TensorFlow, and the suite runs there on the jax backend
#    (from wheels in .whl/ when the machine has no network: bench/README.md, "A GPU machine without network");
# 2. runs the smoke profile, then the quick `locality` and `bottleneck` studies, on the GPU;
# 3. records the step times measured for `run_suite.py --plan` (bench/step_times.py), and prints runs per
#    second, the GPU's utilisation while they ran (nvidia-smi, sampled each second),
#    and the bottleneck study's step-time slopes (the lesson's claim that a Transformer parallelises
#    over positions is about a GPU: on a CPU those claims are undecidable).
# It trains for about 10-20 minutes on one GPU. Figures go to OUTPUT_DIR/gpu_check.txt too.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu_check}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.txt"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }

command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi: this machine has no NVIDIA GPU driver" >&2; exit 2; }
nvidia-smi -L | tee -a "$LOG"

# what is missing, without touching the machine's own TensorFlow / JAX (CUDA builds)
missing=()
while read -r line; do
    req="${line%%#*}"; req="$(echo "$req" | xargs)"
    [ -z "$req" ] && continue
    name="$(echo "$req" | sed -E 's/[<>=!~;[ ].*//')"
    case "$name" in tensorflow|tensorflow-datasets|jax|ray|selenium|pytest) continue ;; esac
    module="$(echo "$name" | tr - _ | sed -e 's/^scikit_learn$/sklearn/' -e 's/^palmerpenguins$/palmerpenguins/')"
    python3 -c "import $module" 2>/dev/null || missing+=("$req")
done < requirements.txt
if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    if [ -d .whl ]; then
        python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
        export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    else
        python3 -m pip install -q "${missing[@]}"
    fi
fi
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" | tee -a "$LOG"

export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -l 1 > "$OUT/utilisation.csv" &
SMI=$!
trap 'kill $SMI 2>/dev/null || true' EXIT

run() {  # label, then run_suite.py arguments
    local label="$1"; shift
    local start end
    start=$(date +%s.%N)
    python3 run_suite.py --backend jax --no-progress --output "$OUT/$label" "$@" 2> "$OUT/$label.log" | tee -a "$LOG"
    end=$(date +%s.%N)
    local runs
    runs=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from runs where status='ok'\").fetchone()[0])" "$OUT/$label/results.sqlite")
    say "$label: $runs runs in $(python3 -c "print(round($end - $start, 1))") s: $(python3 -c "print(round($runs / ($end - $start), 2))") runs/s"
}

run smoke --profile smoke
run locality --studies locality
run bottleneck --studies bottleneck

kill $SMI 2>/dev/null || true
python3 - "$OUT/utilisation.csv" <<'EOF' | tee -a "$LOG"
import sys
rows = [line.split(",") for line in open(sys.argv[1]) if line.strip()]
util = [float(r[0]) for r in rows]
memory = [float(r[1]) for r in rows]
if util:
    print(f"GPU utilisation over {len(util)} s: mean {sum(util) / len(util):.0f}%, "
          f"busy (>10%) {sum(u > 10 for u in util) / len(util):.0%} of the time; memory used up to {max(memory):.0f} MiB")
EOF
python3 docs/findings.py "$OUT/bottleneck/results.sqlite" | grep -i "step time" | tee -a "$LOG" || true
# the GPU's step times, for --plan's estimate on a GPU (commit suite/training/step_times.json)
python3 bench/step_times.py "$OUT/locality/results.sqlite" "$OUT/bottleneck/results.sqlite" \
    --source "bench/gpu_check.sh on $(hostname), $(date +%F)" | tee -a "$LOG"
say "figures: $LOG"
