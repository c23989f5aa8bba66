#!/usr/bin/env bash
# A critic that pools each patch feature's mean and spread over the piece (pooling=mean_std), trained from
# scratch against the shipped default's samples; with POOLING=mean the same run with the paper's average
# alone, for a like-for-like comparison. usage: train-critic-spread.sh [OUT] (env POOLING, default mean_std)
cd /work
P=${POOLING:-mean_std}; O=${1:-runs/critic-spread-$P}
exec tunegan train --mode critic --init-from main/src/tunegan/assets/default -d cache/mix4-remi -o "$O" --epochs 30 \
  --batch-size 32 --seq-len 256 --lr 0.0005 --seed 7 --threads 1 --device cpu --disc pooling=$P \
  --set critic_fakes=1024 --set critic_val=256 --set critic_patience=5
