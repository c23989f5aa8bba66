#!/usr/bin/env bash
# New default, stage 7: the shipped stage-6 default trained on at a tenth of the first learning rate (resumable).
cd /work
R=""; [ -f runs/mix4-long5/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-long5 --mode mle --epochs 40 --batch-size 32 --seq-len 256 --seed 9 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=1e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=3 $R
