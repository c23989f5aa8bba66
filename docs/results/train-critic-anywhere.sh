#!/usr/bin/env bash
# The spread critic trained on with real windows from anywhere in their pieces (critic_real_from=anywhere),
# not only their openings. usage: train-critic-anywhere.sh [FROM] [OUT]
cd /work
F=${1:-runs/critic-spread-mean_std}; O=${2:-runs/critic-anywhere}
exec tunegan train --mode critic --init-from main/src/tunegan/assets/default -d cache/mix4-remi-dd -o "$O" --epochs 12 \
  --batch-size 32 --seq-len 256 --lr 0.0005 --seed 9 --threads 1 --device cpu --disc pooling=mean_std \
  --set critic_from="$F" --set critic_fakes=1024 --set critic_val=256 --set critic_patience=3 --set critic_real_from=anywhere
