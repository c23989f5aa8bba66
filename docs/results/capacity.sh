#!/usr/bin/env bash
# Equal-CPU-time comparison (#14): from scratch, 10 CPU-minutes each, 1 thread, same data and settings.
# usage: runs/capacity.sh NAME CACHE [--gen KEY=VALUE ...]
cd /work
NAME=$1; CACHE=$2; shift 2
exec tunegan train -d "$CACHE" -o "runs/cap-$NAME" --mode mle --epochs 100 --batch-size 32 --seq-len 256 --seed 5 \
  --threads 1 --device cpu --set crops=3200 --set conditional=true --set corpus_balance=0.5 --set mood_balance=0 \
  --set max_transpose=3 --set velocity_shift=2 --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=2 \
  --set max_cpu_minutes=10 "$@"
