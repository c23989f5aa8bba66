#!/usr/bin/env bash
# Stage 9: the shipped stage-6 default trained on with every corpus sampled equally often
# (corpus_balance 0, was 0.5: JSB and ASAP weigh as much as POP909), at stage 7's learning rate (resumable).
cd /work
R=""; [ -f runs/mix4-bal0/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-bal0 --mode mle --epochs 10 --batch-size 32 --seq-len 256 --seed 10 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=1e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=10 $R
