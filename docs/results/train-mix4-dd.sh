#!/usr/bin/env bash
# Stage 7: the shipped stage-6 default trained on at lr 1e-4 on the corrected cache (one version of each
# ASAP piece; each keyword once per piece, so "chorale" in one slot as generation gives it). Resumable.
cd /work
R=""; [ -f runs/mix4-dd/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi-dd -o runs/mix4-dd --mode mle --epochs 20 --batch-size 32 --seq-len 256 --seed 9 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=1e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=3 $R
