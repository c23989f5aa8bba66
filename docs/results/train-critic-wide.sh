#!/usr/bin/env bash
# A critic with a wider view (5 dilated layers: patches of 125 tokens, about 8 bars of pop) trained from scratch
# against the samples the shipped default makes (its piece memory, bar recall and boost included).
cd /work
G=${1:-main/src/tunegan/assets/default}; O=${2:-runs/critic-wide}
exec tunegan train --mode critic --init-from "$G" -d cache/mix4-remi -o "$O" --epochs 20 \
  --batch-size 32 --seq-len 256 --lr 0.0005 --seed 6 --threads 1 --device cpu --disc num_layers=5 --disc dilation=2 \
  --set critic_fakes=1024 --set critic_val=256 --set critic_patience=4
