"""The licences of the corpora a model learns from. Every checkpoint a :class:`~tunegan.training.trainer.Trainer`
saves carries :func:`license_notice` of its cache (``meta.json``: ``data_license``)."""

from __future__ import annotations

DATA_LICENSES = {
    "maestro": "MAESTRO v3.0.0 (Hawthorne et al., ICLR 2019): CC BY-NC-SA 4.0 (non-commercial, attribution, share-alike)",
    "asap": "ASAP (Foscarin et al., ISMIR 2020): CC BY-NC-SA 4.0 (non-commercial, attribution, share-alike)",
    "pop909": "POP909 (Wang et al., ISMIR 2020): MIT",
    "nottingham": "Nottingham Music Database (jukedeck cleaned MIDI): GPL-3.0",
    "jsb": "JSB Chorales (Boulanger-Lewandowski et al., ICML 2012): no licence stated; the music (J.S. Bach) is public domain",
    "vgmidi": "VGMIDI (Ferreira & Whitehead, ISMIR 2019): no licence stated; research and evaluation only",
    "music21": "music21 corpus: licences per repertory (see music21/corpus/license.txt); Essen folk songs non-commercial",
}


def license_notice(manifest: dict) -> str:
    """``"Trained on: ..."``: the licence of every source named in a cache manifest."""
    names = sorted({s.get("name") for s in manifest.get("sources", []) if s.get("name")})
    return "Trained on: " + "; ".join(DATA_LICENSES.get(n, f"{n}: your own data") for n in names) + "."
