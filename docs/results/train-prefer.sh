#!/usr/bin/env bash
# Preference fine-tuning (#15): stage 5 (runs/mix4-long3) tuned by DPO towards what the critic prefers;
# the critic starts from the shipped default's (critic-s4) and is refreshed against the generator each round.
cd /work
exec tunegan train --mode prefer --init-from runs/mix4-long3 -d cache/mix4-remi -o runs/prefer-s5 --batch-size 16 \
  --lr 0.0002 --seed 2 --threads 1 --device cpu --set critic_from=main/src/tunegan/assets/default --set d_lr=0.0005 \
  --set prefer_rounds=3 --set prefer_samples=1024 --set prefer_share=0.1 --set prefer_beta=0.1 --set prefer_epochs=3 \
  --set prefer_critic_epochs=6 --set critic_fakes=1024 --set critic_val=256 --set critic_patience=3
