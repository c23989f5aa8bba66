"""More corpora (POP909, Nottingham, JSB Chorales, VGMIDI, music21): registered with register_source."""
