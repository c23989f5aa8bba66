#!/usr/bin/env bash
# A classical expert: the shipped default (stage 6) fine-tuned on ASAP's train split alone (resumable).
# cache: tunegan prepare asap:shared/data/asap-scores --tokenizer remi --out cache/asap-remi
cd /work
R=""; [ -f runs/expert-asap/latest ] && R="--resume"
exec tunegan train -d cache/asap-remi -o runs/expert-asap --mode mle --epochs 10 --batch-size 32 --seq-len 256 --seed 22 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=2e-4 --set crops=3200 --set conditional=true \
  --set attributes=true --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=0 --set keep_checkpoints=10 $R
