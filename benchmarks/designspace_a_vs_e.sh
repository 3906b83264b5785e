#!/usr/bin/env bash
# The A-vs-E comparison of "Designing Network Design Spaces" (Radosavovic et al. 2020) on
# Fashion-MNIST, on one 2-core machine, in at most 90 minutes:
#
#   bash benchmarks/designspace_a_vs_e.sh [OUT_DIR] [N]        # defaults: runs/a_vs_e 100
#
# 100 networks of AnyNetX_A and 100 of AnyNetX_E, each between 6M and 12M multiply-adds at
# 1x28x28 (3 stages), each trained for 2 epochs on a seeded subset of 5,000 training images
# (the paper's "partial metric", here a short one), 2,000 images held out for the per-epoch
# validation, final error on the 10,000 test images. The two sweeps run side by side, one
# worker process with one thread each, so that both always have done the same share of their
# trials (stop it at any time and the comparison is fair; run it again to resume).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/a_vs_e}
N=${2:-100}
CNNZOO=${CNNZOO:-.venv/bin/cnnzoo}
COMMON=(--n "$N" --flops 6M:12M --data fashion-mnist --epochs 2 --train-subset 5000
        --val-size 2000 --seed 0 --workers 1 --threads 1)
mkdir -p "$OUT"
start=$(date +%s)
"$CNNZOO" sweep run --space anynetx_a "${COMMON[@]}" --out "$OUT/anynetx_a" > "$OUT/a.log" 2>&1 &
pid_a=$!
"$CNNZOO" sweep run --space anynetx_e "${COMMON[@]}" --out "$OUT/anynetx_e" > "$OUT/e.log" 2>&1 &
pid_e=$!
trap 'kill $pid_a $pid_e 2>/dev/null' INT TERM
wait $pid_a
wait $pid_e
end=$(date +%s)
echo "both sweeps finished in $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s"
"$CNNZOO" sweep analyze "$OUT/anynetx_a" "$OUT/anynetx_e" --label A --label E --out "$OUT/report"
