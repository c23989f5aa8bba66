#!/usr/bin/env bash
# New default, stage 5: the shipped stage-4 default trained on at a third of the learning rate (resumable).
cd /work
R=""; [ -f runs/mix4-long3/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-long3 --mode mle --epochs 12 --batch-size 32 --seq-len 256 --seed 7 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=3e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=3 $R
