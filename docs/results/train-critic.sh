#!/usr/bin/env bash
# A critic for the shipped default (stage 4), trained post hoc against the frozen generator.
cd /work
exec tunegan train --mode critic --init-from default -d cache/mix4-remi -o runs/critic-s4 --epochs 40 --batch-size 32 \
  --seq-len 256 --lr 0.0005 --seed 1 --threads 2 --device cpu --set critic_fakes=1024 --set critic_val=256 \
  --set critic_patience=5
