#!/usr/bin/env bash
# NLL per note on every corpus's test split (likelihood only), one checkpoint: runs/eval-nll.sh CKPT NAME
cd /work
D=/work/shared/data
for src in pop909:$D/pop909 nottingham:$D/nottingham jsb:$D/jsb-chorales asap:$D/asap-scores maestro:$D/maestro-v3.0.0; do
  c=${src%%:*}
  tunegan evaluate --checkpoint "$1" --data "$src" --split test --no-suite --threads 1 --device cpu \
    --json "runs/nll-$2-$c.json" > "runs/nll-$2-$c.md" 2> "runs/nll-$2-$c.log"
done
