#!/usr/bin/env bash
# Stage 11: the shipped stage-6 default trained on with half of the crops starting at a piece's
# opening (start_share 0.5, was 0.1): every sample users get is an opening (resumable).
cd /work
R=""; [ -f runs/mix4-open/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-open --mode mle --epochs 6 --batch-size 32 --seq-len 256 --seed 11 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=1e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.5 --set val_batches=20 --set keep_checkpoints=10 $R
