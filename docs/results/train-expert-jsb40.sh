#!/usr/bin/env bash
# A chorale expert trained longer (40 epochs, best on JSB validation NLL): the shipped default (stage 6) fine-tuned on JSB alone (resumable).
# cache: tunegan prepare jsb:shared/data/jsb-chorales --tokenizer remi --out cache/jsb-remi
cd /work
R=""; [ -f runs/expert-jsb40/latest ] && R="--resume"
exec tunegan train -d cache/jsb-remi -o runs/expert-jsb40 --mode mle --epochs 40 --batch-size 32 --seq-len 256 --seed 21 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set lr=2e-4 --set crops=1600 --set conditional=true \
  --set attributes=true --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=0 --set keep_checkpoints=3 $R
