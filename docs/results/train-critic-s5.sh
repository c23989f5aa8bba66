#!/usr/bin/env bash
# The critic of stage 5 (runs/mix4-long3): the shipped stage-4 critic trained on against the stage-5 generator.
cd /work
exec tunegan train --mode critic --init-from runs/mix4-long3 -d cache/mix4-remi -o runs/critic-s5 --epochs 10 --batch-size 32 \
  --seq-len 256 --lr 0.0005 --seed 4 --threads 1 --device cpu --set critic_from=main/src/tunegan/assets/default \
  --set critic_fakes=1024 --set critic_val=256 --set critic_patience=4
