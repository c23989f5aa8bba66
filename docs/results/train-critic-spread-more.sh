#!/usr/bin/env bash
# The spread critic (pooling=mean_std) trained on from its first run, at half the learning rate and
# twice the fresh samples per epoch. usage: train-critic-spread-more.sh [FROM] [OUT]
cd /work
F=${1:-runs/critic-spread-mean_std}; O=${2:-runs/critic-spread2}
exec tunegan train --mode critic --init-from main/src/tunegan/assets/default -d cache/mix4-remi-dd -o "$O" --epochs 20 \
  --batch-size 32 --seq-len 256 --lr 0.00025 --seed 8 --threads 1 --device cpu --disc pooling=mean_std \
  --set critic_from="$F" --set critic_fakes=2048 --set critic_val=256 --set critic_patience=4
