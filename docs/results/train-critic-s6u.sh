#!/usr/bin/env bash
# The critic of the stage-6 default with the mode rule and the five-kind guard: trained on from the
# shipped critic against the samples the stage-6 generator makes. usage: train-critic-s6.sh GENERATOR [OUT]
cd /work
G=${1:-runs/ship-s6u}; O=${2:-runs/critic-s6u}
exec tunegan train --mode critic --init-from "$G" -d cache/mix4-remi -o "$O" --epochs 10 \
  --batch-size 32 --seq-len 256 --lr 0.0005 --seed 6 --threads 1 --device cpu --set critic_from=main/src/tunegan/assets/default \
  --set critic_fakes=1024 --set critic_val=256 --set critic_patience=4
