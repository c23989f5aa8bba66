#!/usr/bin/env bash
# The critic of the shipped default with its piece memory and key priors: trained on from the stage-5 critic
# against the samples the default now makes (the generator's meta, memory and priors included, is the shipped one).
cd /work
exec tunegan train --mode critic --init-from main/src/tunegan/assets/default -d cache/mix4-remi -o runs/critic-s5rep --epochs 10 \
  --batch-size 32 --seq-len 256 --lr 0.0005 --seed 5 --threads 1 --device cpu --set critic_from=main/src/tunegan/assets/default \
  --set critic_fakes=1024 --set critic_val=256 --set critic_patience=4
