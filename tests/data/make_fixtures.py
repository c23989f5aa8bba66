"""Writes the tiny edge-case MIDI fixtures in tests/data/midi/ (run once; the files are committed).

    python tests/data/make_fixtures.py
"""

from pathlib import Path

import mido

HERE = Path(__file__).parent / "midi"


def track(notes, channel=0, program=0):
    t = mido.MidiTrack()
    t.append(mido.Message("program_change", program=program, channel=channel, time=0))
    for pitch, on, dur in notes:
        t.append(mido.Message("note_on", note=pitch, velocity=80, channel=channel, time=on))
        t.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=dur))
    t.append(mido.MetaMessage("end_of_track", time=0))
    return t


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    melody = [(60, 0, 240), (64, 0, 240), (67, 0, 480)]
    m = mido.MidiFile(type=0, ticks_per_beat=480)
    m.tracks.append(track(melody))
    m.save(HERE / "type0.mid")
    m = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0),
                           mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
                           mido.MetaMessage("end_of_track", time=0)])
    m.tracks += [meta, track(melody), track([(48, 0, 960)], channel=1)]
    m.save(HERE / "type1.mid")
    m = mido.MidiFile(type=1, ticks_per_beat=480)
    m.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    m.save(HERE / "empty.mid")
    m = mido.MidiFile(type=0, ticks_per_beat=480)
    m.tracks.append(track([(72, 0, 480)]))
    m.save(HERE / "one_note.mid")
    m = mido.MidiFile(type=0, ticks_per_beat=480)
    m.tracks.append(track([(36, 0, 120), (38, 0, 120), (42, 0, 120)], channel=9))
    m.save(HERE / "drums_only.mid")
    m = mido.MidiFile(type=0, ticks_per_beat=480)
    m.tracks.append(track([(10, 0, 240), (60, 0, 240), (115, 0, 240)]))
    m.save(HERE / "out_of_range.mid")
    m = mido.MidiFile(type=0, ticks_per_beat=480)
    m.tracks.append(track([(5, 0, 240), (120, 0, 240)]))
    m.save(HERE / "all_out_of_range.mid")
    data = (HERE / "type1.mid").read_bytes()
    (HERE / "truncated.mid").write_bytes(data[: len(data) // 2])
    (HERE / "not_midi.mid").write_bytes(b"RIFF....WAVEfmt this is not a MIDI file")


if __name__ == "__main__":
    main()
