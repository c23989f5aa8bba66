#!/usr/bin/env bash
# Preference fine-tuning, gentler: as train-prefer.sh but a quarter of the learning rate, one pass over each
# round's pairs and an MLE term on real crops beside DPO, 2 rounds (after the first run drifted, see results).
cd /work
exec tunegan train --mode prefer --init-from runs/mix4-long3 -d cache/mix4-remi -o runs/prefer-s5-gentle --batch-size 16 \
  --lr 0.00005 --seed 3 --threads 1 --device cpu --set critic_from=main/src/tunegan/assets/default --set d_lr=0.0005 \
  --set prefer_rounds=2 --set prefer_samples=1024 --set prefer_share=0.1 --set prefer_beta=0.1 --set prefer_epochs=1 \
  --set prefer_mle=1.0 --set prefer_critic_epochs=6 --set critic_fakes=1024 --set critic_val=256 --set critic_patience=3
