#!/usr/bin/env bash
# New default: the shipped default fine-tuned on the beat-grid / written-metre data (resumable).
cd /work
R=""; [ -f runs/mix4-ft/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-ft --mode mle --epochs 14 --batch-size 32 --seq-len 256 --seed 3 \
  --threads 1 --device cpu --init-from default --set crops=6400 --set conditional=true --set corpus_balance=0.5 \
  --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 --set start_share=0.1 --set val_batches=20 \
  --set keep_checkpoints=3 $R
