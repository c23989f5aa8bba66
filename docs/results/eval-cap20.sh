#!/usr/bin/env bash
# Validation NLL per note of the 20-CPU-minute capacity runs (docs/results/capacity.sh NAME CACHE --set max_cpu_minutes=20 ...)
cd /work
for n in remi-1x256-20 remi-2x512-20 remi-3x512-20; do
  tunegan evaluate --checkpoint runs/cap-$n --data cache/mix4-remi --split validation --no-suite --threads 1 --device cpu --max-windows 400 --json runs/capval-$n.json > runs/capval-$n.md 2> runs/capval-$n.log
done
