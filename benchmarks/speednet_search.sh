#!/usr/bin/env bash
# A design-space search for the `fast` recipe's network (issue 15): SpeedNet's shapes, judged
# by error against training time on this machine (benchmarks/RESULTS.md, "Speed"):
#
#   bash benchmarks/speednet_search.sh [OUT_DIR] [N]      # defaults: benchmarks/speednet_search 24
#
# N shapes of the `speednet` space (per-stage widths and convolution counts, a stem) between 5M
# and 30M multiply-adds at 1x28x28, each trained for 2 epochs on a seeded subset of 24,000
# Fashion-MNIST images with the `fast` recipe's settings for SpeedNet (batch 256, one-cycle to
# 0.2, Nesterov, weight decay 5e-4, label smoothing 0.1, crops and flips), the final error on
# the 10,000 test images. One trial at a time on both cores, so that each trial's training time
# is the machine's. Then the hand-found `speednet` (14.1M) with the same budget, for reference,
# and the report (its Pareto front of error against time). Stop it at any time; run it again to
# resume.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/speednet_search}
N=${2:-24}
CNNZOO=${CNNZOO:-.venv/bin/cnnzoo}
TRAIN=(batch_size=256 lr=0.2 schedule=onecycle warmup_epochs=0 weight_decay=5e-4
       label_smoothing=0.1 crop_padding=2 hflip=true)
OPTS=()
for t in "${TRAIN[@]}"; do OPTS+=(--train-opt "$t"); done
mkdir -p "$OUT"
"$CNNZOO" sweep run --space speednet --n "$N" --flops 5M:30M --data fashion-mnist --epochs 2 \
  --train-subset 24000 --seed 0 --workers 1 --threads 2 "${OPTS[@]}" --out "$OUT/sweep"
if [ ! -f "$OUT/reference/eval.json" ]; then
  rm -rf "$OUT/reference"
  "$CNNZOO" train speednet --epochs 2 --train-subset 24000 --seed 0 --val-size 0 \
    --batch-size 256 --lr 0.2 --schedule onecycle --momentum 0.9 --nesterov \
    --weight-decay 5e-4 --label-smoothing 0.1 --crop-padding 2 --hflip --no-tta \
    --out "$OUT/reference" --quiet
fi
"$CNNZOO" sweep analyze "$OUT/sweep" --out "$OUT/report"
