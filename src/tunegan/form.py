"""Pieces with form, the generation side: phrases that return, endings that close, loops.

:func:`tunegan.generation.sample_pieces` uses this module for a bar-based model whenever the
length is in bars (``--bars``, ``--form``, ``--loop``, or the default), unless ``ending="none"``
and there is no form or loop. A piece that only closes on a cadence is sampled as one batch up
to its last bar and closed row by row (:func:`close_batch`); a form or a loop is made by
:func:`sample_structured`, one token stream per sample, bar by bar:

* a **new letter** of the form continues the music so far for ``phrase_bars`` bars;
* a **returning letter** replays its phrase's tokens: exactly at ``variation`` 0; otherwise each
  note's pitch is re-sampled by the model at that point with probability ``variation`` (a
  different pitch within a fifth, the step from the previous note keeping its direction), so
  rhythm, loudness and contour stay;
* **ending "cadence"** (the default): the final bar is the tonic chord on the downbeat, held to
  the bar line. Its lowest note is the tonic of ``key`` (or of the key found in the music so far)
  near the recent bass; the model adds the notes of the tonic triad it wants and their loudness;
* **loop**: the model samples :data:`LOOP_CANDIDATES` final bars, continuing the music past its
  end, and keeps the one whose step back into bar 1 looks most like the piece's own steps from
  bar to bar (melodic interval and time between onsets across the seam, ranked against the
  inner bar lines by :func:`tunegan.music.form.seam`), with how likely the model finds bar 1
  after it as the third criterion. Notes are cut at the last bar line (see
  :func:`tunegan.api.generate`).
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import MusicOptionError

FORMS = {"verse-chorus": "ABABCB"}  # verse, chorus, verse, chorus, bridge, chorus
MAX_PHRASES = 16
DEFAULT_BARS = 8                    # a bar-based piece's length when none is given: two 4-bar phrases
LONG_PHRASE_STYLES = {"folk", "reel", "jig", "hornpipe", "polka", "waltz"}  # tunes in 8-bar strains
LOOP_CANDIDATES = 16
MAX_BAR_TOKENS = 1024               # a bar longer than this stops the piece
VARIED_RANGE = 7                    # a re-sampled pitch stays within a fifth of the one it replaces


def parse_form(text) -> str:
    """``"AABA"``, ``"abab"`` or a named form (``verse-chorus``) -> its letters, one per phrase.
    Letters come in order (the first is A, a new one is the next letter)."""
    if not isinstance(text, str) or not text.strip():
        raise MusicOptionError(f"form must be letters like AABA (received {text!r})")
    if (named := FORMS.get(text.strip().lower())) is not None:
        return named
    letters = "".join(text.split()).upper()
    if not (letters.isascii() and letters.isalpha()) or len(letters) > MAX_PHRASES:
        raise MusicOptionError(f"form must be letters, one per phrase, like AABA, ABAB, AABB or ABAC (at most "
                               f"{MAX_PHRASES}), or one of {', '.join(FORMS)} (received {text!r})")
    seen = ""
    for ch in letters:
        if ch not in seen:
            if ch != chr(ord("A") + len(seen)):
                raise MusicOptionError(f"form {text!r}: new phrases are lettered in order (A first, then B, C...); "
                                       f"'{ch}' comes before '{chr(ord('A') + len(seen))}'")
            seen += ch
    return letters


def check_options(o, set_) -> None:
    """The form, ending and loop fields of :class:`~tunegan.generation.GenerationOptions`, checked
    together (one-line :class:`MusicOptionError`); ``set_`` normalises a field of the frozen options."""
    v = o.variation
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:  # NaN fails too
        raise MusicOptionError(f"variation must be within 0 and 1 (received {v})")
    if o.ending is not None and o.ending not in ("cadence", "none"):
        raise MusicOptionError(f"ending must be cadence or none (received {o.ending!r})")
    if not isinstance(o.loop, bool):
        raise MusicOptionError(f"loop must be true or false (received {o.loop!r})")
    if o.loop and o.ending == "cadence":
        raise MusicOptionError("a loop leads back to its start instead of closing: leave --ending out with --loop")
    if o.phrase_bars is not None and (not isinstance(o.phrase_bars, int) or not 1 <= o.phrase_bars <= 32):
        raise MusicOptionError(f"phrase bars must be within 1 and 32 (received {o.phrase_bars})")
    if o.form is None:
        if o.phrase_bars is not None or o.variation:
            raise MusicOptionError("--phrase-bars and --variation shape the phrases of a form: give --form with them")
    else:
        set_("form", parse_form(o.form))
        if o.length is not None or o.seconds is not None:
            raise MusicOptionError("with --form the length is in phrases: leave --length and --seconds out "
                                   "(or give --bars)")
        n = len(o.form)
        if o.bars is not None and o.phrase_bars is not None and o.bars != n * o.phrase_bars:
            raise MusicOptionError(f"--bars {o.bars} disagrees with --form {o.form}: {n} phrases of "
                                   f"{o.phrase_bars} bars make {n * o.phrase_bars} bars")
        if o.bars is not None and o.phrase_bars is None:
            if o.bars % n:
                raise MusicOptionError(f"--bars {o.bars} does not split into the {n} phrases of {o.form}: "
                                       f"give a multiple of {n} or --phrase-bars")
            set_("phrase_bars", o.bars // n)
    if o.loop and (o.length is not None or o.seconds is not None):
        raise MusicOptionError("a loop is a whole number of bars: give --bars (or nothing) instead of "
                               "--length or --seconds")


def default_phrase_bars(style) -> int:
    """Bars per phrase when not given: 8 for folk tunes (their strains), else 4."""
    return 8 if set(style or ()) & LONG_PHRASE_STYLES else 4


def phrase_of_bar(letters: str, phrase_bars: int, bar: int) -> str:
    """The letter of (0-based) ``bar``."""
    return letters[min(bar // phrase_bars, len(letters) - 1)]


class _Piece:
    """One sample under way: its tokens (primer first, no BOS) and the stream that has read them."""

    def __init__(self, model, prime: np.ndarray, options, seed: int, constraints, max_tokens: int):
        from .sampling import TokenStream

        self.model, self.tok, self.options, self.c = model, model.tokenizer, options, constraints
        self.seq = [int(t) for t in prime[1:]]
        self.prime_len = len(self.seq)
        cond = None if constraints.cond is None else constraints.cond.unsqueeze(0)
        self.cond = cond
        self.stream = TokenStream(model.generator, torch.from_numpy(np.asarray(prime[None], np.int64)), cond=cond,
                                  guidance=constraints.guidance, repeats=constraints.repeats, guard=constraints.guard,
                                  guard_seeds=[seed])
        self.seed = seed
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng([seed, 13])
        self.kw = dict(temperature=options.temperature, top_k=options.top_k, top_p=options.top_p)
        self.bar_id = int(np.flatnonzero(self.tok.is_bar(np.arange(self.tok.vocab_size)))[0])
        self.pitch_of = self.tok.token_pitches()
        self.stopped = False
        self.max_tokens = max_tokens

    # -- bookkeeping ------------------------------------------------------------------------------
    def bar_starts(self) -> np.ndarray:
        return np.flatnonzero(self.tok.is_bar(np.asarray(self.seq, dtype=np.int64)))

    def done_bars(self) -> int:
        """Bars complete: every Bar token but the last opens a finished bar."""
        return max(0, len(self.bar_starts()) - 1)

    def feed(self, tokens) -> None:
        if len(tokens):
            self.stream.feed(list(tokens))
            self.seq += [int(t) for t in tokens]

    def pick(self, mask: torch.Tensor) -> int:
        """One token sampled by the model among ``mask``."""
        t = int(self.stream.take(1, allowed_mask=mask, rng=[self.gen], **self.kw)[0, 0])
        self.seq.append(t)
        return t

    # -- making bars --------------------------------------------------------------------------------
    def sample_until(self, bars: int) -> None:
        """Sample until ``bars`` bars are complete (the next bar's Bar token sampled)."""
        if not len(self.bar_starts()):
            self.feed([self.bar_id])
        while not self.stopped and self.done_bars() < bars:
            left = self.max_tokens - (len(self.seq) - self.prime_len)
            new = self.stream.take(min(MAX_BAR_TOKENS, max(left, 0)), allowed_mask=self.c.allowed, rng=[self.gen],
                                   force=self.c.force or None, until=self.bar_id, **self.kw)[0].tolist()
            self.seq += new
            if not new or new[-1] != self.bar_id:
                self.stopped = True  # no bar line within the budget: the piece ends where it is

    def replay(self, first: int, count: int, variation: float) -> None:
        """Bars ``first..first+count-1`` (0-based, complete) again after the music so far."""
        starts = self.bar_starts()
        source = self.seq[starts[first] + 1: starts[first + count] + 1]  # ends with the next Bar
        before = [p for p in self.pitch_of[np.asarray(self.seq[:starts[first]], np.int64)] if p >= 0]
        prev_orig = int(before[-1]) if before else None
        now = [p for p in self.pitch_of[np.asarray(self.seq, np.int64)] if p >= 0]
        prev_new = int(now[-1]) if now else None
        pending: list[int] = []
        for t in source:
            p = int(self.pitch_of[t])
            if p >= 0 and variation > 0 and self.rng.random() < variation:
                mask = self._varied(p, prev_orig, prev_new)
                if mask is not None:
                    self.feed(pending)
                    pending = []
                    new = self.pick(mask)
                    prev_orig, prev_new = p, int(self.pitch_of[new])
                    continue
            pending.append(t)
            if p >= 0:
                prev_orig = prev_new = p
        self.feed(pending)

    def _varied(self, p: int, prev_orig: int | None, prev_new: int | None) -> torch.Tensor | None:
        """Pitch tokens that may replace ``p``: another pitch within a fifth whose step from the
        previous note keeps the original step's direction (None when no pitch qualifies)."""
        q = self.pitch_of
        ok = (q >= 0) & (np.abs(q - p) <= VARIED_RANGE) & (q != p)
        if prev_orig is not None and prev_new is not None:
            ok &= np.sign(q - prev_new) == np.sign(p - prev_orig)
        mask = torch.from_numpy(ok) & self.c.allowed
        return mask if bool(mask.any()) else None

    def _metre(self) -> tuple[tuple[int, int], int | None]:
        """The current bar's metre and its TimeSig token id (the held one, else the last written)."""
        from .music import parse_time_signature

        held = self.c.force.get(self.bar_id)
        ids = [held] if held is not None else [t for t in self.seq if self.tok.describe(t).startswith("TimeSig_")][-1:]
        if not ids:
            return (4, 4), None
        return parse_time_signature(self.tok.describe(ids[-1]).split("_", 1)[1]), int(ids[-1])

    def cadence(self) -> None:
        """The final bar: the tonic chord on its downbeat, held to the bar line."""
        from .music import MAJOR_OR_MINOR
        from .music.form import piece_key

        tok = self.tok
        (num, _), ts_id = self._metre()
        positions = {v: i for i, v in tok.tokens_of_kind("Position").items()}
        durations = {i: _beats(v) for i, v in tok.tokens_of_kind("Duration").items()}
        velocities = list(tok.tokens_of_kind("Velocity"))
        if "0" not in positions or not durations or not velocities:
            return
        self.feed(([ts_id] if ts_id is not None else []) + [positions["0"]])
        body = np.asarray(self.seq[:self.bar_starts()[-1]], np.int64)
        score = tok.decode(body)
        tonic, mode = piece_key(score, self.options.key)
        triad = {tonic, (tonic + (3 if MAJOR_OR_MINOR.get(mode, mode) == "minor" else 4)) % 12, (tonic + 7) % 12}
        recent = self._recent_pitches(body)
        lo, hi = (int(recent.min()), int(recent.max())) if len(recent) else (48, 72)
        q = self.pitch_of
        bass = (q >= 0) & (q % 12 == tonic) & (q >= lo - 9) & (q <= lo + 5)
        if not bass.any():
            tonics = np.flatnonzero((q >= 0) & (q % 12 == tonic))
            bass = np.zeros_like(bass)
            bass[tonics[np.argmin(np.abs(q[tonics] - lo))]] = True
        vel_mask = torch.zeros(tok.vocab_size, dtype=torch.bool)
        vel_mask[velocities] = True
        hold = max((i for i, b in durations.items() if b <= num), key=lambda i: durations[i])
        last = self.pick(torch.from_numpy(bass))
        self.pick(vel_mask)
        self.feed([hold])
        for _ in range(3):  # the model may add the triad's other notes above the bass, or stop
            upper = (q >= 0) & np.isin(q % 12, sorted(triad)) & (q > q[last]) & (q <= max(hi, q[last]) + 2)
            mask = torch.from_numpy(upper) & self.c.allowed
            if not mask.any():
                break
            mask[self.bar_id] = True
            t = self.pick(mask)
            if t == self.bar_id:
                self.seq.pop()  # the model chose to stop: the bar is whole
                break
            last = t
            self.pick(vel_mask)
            self.feed([hold])

    def _recent_pitches(self, body: np.ndarray) -> np.ndarray:
        starts = np.flatnonzero(self.tok.is_bar(body))
        recent = body[starts[-2]:] if len(starts) >= 2 else body
        p = self.pitch_of[recent]
        return p[p >= 0]

    def loop_back(self) -> None:
        """The final bar: of :data:`LOOP_CANDIDATES` the model samples, the one whose step back into
        bar 1 fits the piece best (:meth:`_best_seam`)."""
        from .sampling import TokenStream

        starts = self.bar_starts()
        if len(starts) < 2:
            return self.sample_until(self.done_bars() + 1)
        first_bar = self.seq[starts[0] + 1: starts[1] + 1]  # bar 1 after its bar line, and the next one
        prefix = np.asarray([self.tok.bos_id] + self.seq, np.int64)
        k = LOOP_CANDIDATES
        cond = None if self.cond is None else self.cond.repeat(k, 1)
        stream = TokenStream(self.model.generator, torch.from_numpy(np.tile(prefix, (k, 1))), cond=cond,
                             guidance=self.c.guidance, repeats=self.c.repeats, guard=self.c.guard,
                             guard_seeds=[self.seed] * k)
        gens = [torch.Generator().manual_seed(int(s)) for s in np.random.SeedSequence([self.seed, 17]).generate_state(k)]
        rows = stream.take(MAX_BAR_TOKENS, allowed_mask=self.c.allowed, rng=gens, force=self.c.force or None,
                           until=self.bar_id, **self.kw).numpy()
        cands = []
        for r in rows:
            ends = np.flatnonzero(r == self.bar_id)
            if len(ends):
                cands.append(r[: ends[0] + 1].tolist())
        if not cands:
            return self.sample_until(self.done_bars() + 1)
        self.feed(cands[self._best_seam(cands, first_bar)])

    def _best_seam(self, cands: list[list[int]], first_bar: list[int]) -> int:
        from .music.form import seam

        bars = self.done_bars() + 1
        fit = []
        for c in cands:
            s = seam(self.tok.decode(np.asarray(self.seq + c[:-1], np.int64)), bars)
            fit.append(np.nan_to_num(s.interval_rank, nan=0.5) + np.nan_to_num(s.gap_rank, nan=0.5))
        like = self._likelihood_after(np.asarray([self.tok.bos_id] + self.seq, np.int64), cands, first_bar)
        like_rank = np.argsort(np.argsort(like)) / max(len(like) - 1, 1)  # 0 = least likely, 1 = most
        return int(np.argmax(np.asarray(fit) + like_rank))

    @torch.no_grad()
    def _likelihood_after(self, prefix: np.ndarray, cands: list[list[int]], tail: list[int]) -> np.ndarray:
        """Log-likelihood of ``tail`` after ``prefix + candidate``, for each candidate."""
        seqs = [np.concatenate([prefix, c, tail]) for c in cands]
        width = max(len(s) for s in seqs)
        x = np.full((len(seqs), width), self.tok.pad_id, np.int64)
        for i, s in enumerate(seqs):
            x[i, :len(s)] = s
        g = self.model.generator
        dev = next(g.parameters()).device
        cond = None if self.cond is None else self.cond.repeat(len(seqs), 1).to(dev)
        logits, _ = g(torch.from_numpy(x).to(dev), cond=cond)
        logp = torch.log_softmax(logits.float(), -1).cpu()
        out = []
        for i, s in enumerate(seqs):
            lo = len(s) - len(tail)
            tgt = torch.as_tensor(s[lo:], dtype=torch.long)
            out.append(float(logp[i, lo - 1: len(s) - 1].gather(1, tgt[:, None]).sum()))
        return np.array(out)

    def new_tokens(self) -> np.ndarray:
        out = self.seq[self.prime_len:]
        if out and out[-1] == self.bar_id:
            out = out[:-1]  # the bar line after the last bar
        return np.asarray(out, np.int64)


def _beats(value: str) -> float:
    """MidiTok's duration ``"beats.ticks.resolution"`` in beats."""
    b, t, r = (int(x) for x in value.split("."))
    return b + t / r


def sample_structured(model, prime: np.ndarray, options, seed: int, constraints, *, max_tokens: int) -> np.ndarray:
    """New tokens for one sample of ``options.bars`` bars with its form, ending or loop (see the
    module docstring). ``prime`` starts with BOS; the primer's bars count as the first ones;
    at most ``max_tokens`` new tokens."""
    piece = _Piece(model, prime, options, seed, constraints, max_tokens)
    total = options.bars
    letters = options.form or "A"
    size = options.phrase_bars or total
    closing = options.loop or options.ending != "none"
    free = total - 1 if closing else total  # bars made by phrases; the last one closes the piece
    source: dict[str, int] = {}
    for p, letter in enumerate(letters):
        first, upto = p * size, min((p + 1) * size, free)
        if upto <= first or piece.stopped:
            continue
        if letter in source and piece.done_bars() >= first:
            piece.replay(source[letter], upto - first, options.variation)
        else:
            source.setdefault(letter, first)
            piece.sample_until(upto)
    if closing and not piece.stopped and piece.done_bars() == total - 1:
        if piece.seq and piece.seq[-1] == piece.bar_id:  # a fresh last bar: it closes the piece
            piece.loop_back() if options.loop else piece.cadence()
        else:  # the starting music fills part of the only bar: it is continued, not closed
            piece.sample_until(total)
    return piece.new_tokens()


def close_batch(model, primes: list[np.ndarray], news: list[np.ndarray], options, seeds, constraints) -> list[np.ndarray]:
    """The batched form of a piece without form or loop: ``news`` were sampled as one batch up to
    the end of bar ``bars - 1`` (:func:`tunegan.generation.sample_tokens`); each row then gets its
    cadence bar on its own (a few tokens). A row that did not reach that bar is left as it is."""
    out = []
    for prime, new, seed in zip(primes, news, seeds):
        tok = model.tokenizer
        if tok.count_bars(np.concatenate([prime[1:], new])) != options.bars - 1:
            out.append(new)
            continue
        sub = int(np.random.SeedSequence([int(seed), 29]).generate_state(1)[0])
        bar = np.flatnonzero(tok.is_bar(np.arange(tok.vocab_size)))[:1]
        opened = np.concatenate([prime, new, bar]).astype(np.int64)
        piece = _Piece(model, opened, options, sub, constraints, MAX_BAR_TOKENS)
        piece.cadence()
        out.append(np.concatenate([new, bar, piece.new_tokens()]).astype(np.int64))
    return out
