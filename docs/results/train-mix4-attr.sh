#!/usr/bin/env bash
# New default, stage 2: stage 1 (runs/mix4-ft, best) continued with per-crop attributes (resumable).
cd /work
R=""; [ -f runs/mix4-attr/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-attr --mode mle --epochs 10 --batch-size 32 --seq-len 256 --seed 4 \
  --threads 1 --device cpu --init-from runs/mix4-ft --set crops=6400 --set conditional=true --set attributes=true \
  --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 --set start_share=0.1 \
  --set val_batches=20 --set keep_checkpoints=3 $R
