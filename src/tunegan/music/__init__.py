"""Music basics, each in one place: note names, keys and key finding, tempo and metre options,
notes out of a Score, the tempo map and bar grid, mood words.

    parse_key("A minor")            -> (9, "minor")      # tonic pitch class 0..11 (C=0)
    parse_time_signature("3/4")     -> (3, 4)
    parse_notes("C4 E4 G4")         -> [60, 64, 67]
"""

from .keys import (KK_MAJOR, KK_MINOR, MAJOR_OR_MINOR, MODES, PITCH_NAMES, KeyEstimate, find_key, key_correlations,
                   key_label, mode_margin, parse_key, pitch_class_histogram, rank_keys, read_key,
                   scale_pitch_classes, tonic_to_fifths)
from .mood import MOOD_QUADRANTS, MOODS, mood_signs, mood_word
from .names import NAMES_SHARP, PIANO_HIGH, PIANO_LOW, note_name, parse_note, parse_notes
from .options import (DENOMINATORS, GM_PROGRAMS, NUMERATOR_MAX, TEMPO_MAX, TEMPO_MIN, parse_instrument, parse_tempo,
                      parse_time_signature)
from .score import (TICK_NOTE_DTYPE, as_score, extract_notes, score_notes, seed_score, set_instrument, set_tempo,
                    set_time_signature, skyline, tick_notes, transpose_score)
from .timing import (Grid, bar_grid, first_tempo, first_time_signature, mean_tempo, seconds_to_tick,
                     ticks_to_seconds)

__all__ = [n for n in dir() if not n.startswith("_")]
