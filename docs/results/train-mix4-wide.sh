#!/usr/bin/env bash
# New default, stage 8: the shipped stage-6 default widened from 256 to 384 LSTM units (the new units start
# silent, so training begins at stage 6's validation NLL), dropout 0.1 before the output layer (resumable).
cd /work
R=""; [ -f runs/mix4-wide/latest ] && R="--resume"
exec tunegan train -d cache/mix4-remi -o runs/mix4-wide --mode mle --epochs 60 --batch-size 32 --seq-len 256 --seed 10 \
  --threads 1 --device cpu --init-from main/src/tunegan/assets/default --set grow_hidden=384 --set tune_dropout=0.1 \
  --set lr=3e-4 --set crops=6400 --set conditional=true \
  --set attributes=true --set corpus_balance=0.5 --set mood_balance=0 --set max_transpose=3 --set velocity_shift=2 \
  --set start_share=0.1 --set val_batches=20 --set keep_checkpoints=3 $R
