"""A copy of a shipped folder whose guard also draws a span per piece (``harmony.span_draws``), with
nothing refitted: the draws come from the same train openings the guard fit reads (the same pieces,
picked with the fit's seed), so a check on the copy differs from one on the original only by the span.

    python main/docs/results/add-span-draws.py SRC DST      # from /work, with cache/mix4-remi
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from tunegan.checkpoint import load_checkpoint
from tunegan.data.dataset import TokenCache
from tunegan.evaluation.genre_classifier import piece_genres
from tunegan.evaluation.style import model_keywords
from tunegan.harmony import ANY_STYLE
from tunegan.harmony.fit import FIT_SEED, SPAN_DRAW_QUANTILES

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
ck = load_checkpoint(src, with_discriminator=False)
cache = TokenCache("cache/mix4-remi")
data, genres = cache.split("train"), piece_genres(cache, "train")
keywords = set(model_keywords(ck, "genre"))
rng = np.random.default_rng([FIT_SEED, 41])  # as fit_guard draws its real pieces
pitch_of = ck.tokenizer.token_pitches()
draws = {}
for g in [*sorted(set(genres.tolist()) & keywords), ANY_STYLE]:
    idx = np.flatnonzero(genres == g) if g else np.arange(len(genres))
    idx = rng.choice(idx, min(400, len(idx)), replace=False)
    heads = [data.piece(int(i))[:512] for i in idx]
    compass = [int(q.max() - q.min()) for h in heads if len(q := pitch_of[h][pitch_of[h] >= 0])]
    draws[g] = [max(1, int(round(x))) for x in np.percentile(compass, SPAN_DRAW_QUANTILES)]
    print(g or "any", "75th percentile", np.percentile(compass, 75), "draws", draws[g])
if dst.exists():
    shutil.rmtree(dst)
shutil.copytree(src, dst)
meta = json.loads((dst / "meta.json").read_text())
meta["harmony"]["span_draws"] = draws
(dst / "meta.json").write_text(json.dumps(meta, indent=1))
