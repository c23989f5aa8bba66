#!/usr/bin/env bash
# New default, stage 4: stage 3 (runs/mix4-long, best) trained longer with the same settings (resumable).
cd /work
R=""; [ -f runs/mix4-long2/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-long2 --mode mle --epochs 30 --batch-size 32 --seq-len 256 --seed 6 \
  --threads 1 --device cpu --init-from runs/mix4-long --set crops=6400 --set conditional=true --set attributes=true \
  --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 --set start_share=0.1 \
  --set val_batches=20 --set keep_checkpoints=3 $R
