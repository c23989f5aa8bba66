#!/usr/bin/env bash
# Stage 10: the shipped default (stage 6) trained on at 512-token crops (samples are 512 tokens and more; stages
# 1-9 learned from 256), batch 16 so a step sees as many tokens as before (resumable).
cd /work
R=""; [ -f runs/mix4-len512/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-len512 --mode mle --epochs 10 --batch-size 16 --seq-len 512 --seed 11 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=1e-4 --set crops=3200 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=40 --set keep_checkpoints=10 $R
