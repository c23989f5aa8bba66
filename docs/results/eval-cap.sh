#!/usr/bin/env bash
cd /work
for r in remi-1x256:mix4-remi remi-2x512:mix4-remi bpe1000-1x256:mix4-bpe1000 bpe2000-1x256:mix4-bpe2000; do
  n=${r%%:*}; c=${r##*:}
  tunegan evaluate --checkpoint runs/cap-$n --data cache/$c --split validation --no-suite --threads 1 --device cpu --max-windows 400 --json runs/capval-$n.json > runs/capval-$n.md 2> runs/capval-$n.log
done
