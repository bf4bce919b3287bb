"""Real recorded speech for the lip-sync evaluation: the LibriVox utterances in evaldata/librivox.

`librivox_utterances() -> list[MotionUtterance]` loads each WAV (16 kHz mono) and turns its pocketsphinx
phone alignment (CMU/ARPAbet names) into the espeak-style phone list eval_motion scores against: every
ARPAbet phone is given its IPA symbol (speechdata.arpabet_phone) and goes through speechdata's phone -> viseme
table, so real and synthetic speech are judged by the same rules. Silences ("SIL", fillers, and any gap or
trailing audio the alignment leaves) become speechdata.PAUSE. Source and licence: evaldata/librivox/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import speechdata as sd
from .utterance import MotionUtterance

LIBRIVOX_DIR = Path(__file__).with_name("evaldata") / "librivox"
CMU_DIR = Path(__file__).with_name("evaldata") / "cmu"
SAMPLE_RATE_HZ = 16000


def alignment_phones(alignment: dict, duration_s: float) -> list[tuple[float, float, str]]:
    """pocketsphinx JSON ({"w": [{"w": [{"b": s, "d": s, "t": "AE"}, ...]}, ...]}) -> (start_s, end_s, name)
    tiling [0, duration_s], names as speechdata.PhoneTimedSpeech wants them (IPA or PAUSE)."""
    out: list[tuple[float, float, str]] = []
    t_s = 0.0
    for word in alignment["w"]:
        for phone in word.get("w", [word]):
            start_s, end_s = float(phone["b"]), float(phone["b"]) + float(phone["d"])
            name = sd.arpabet_phone(phone["t"])
            if start_s > t_s + 1e-6:
                out.append((t_s, start_s, sd.PAUSE))
            start_s = max(start_s, t_s)
            if end_s > start_s:
                out.append((start_s, end_s, name))
                t_s = end_s
    if duration_s > t_s + 1e-6:
        out.append((t_s, duration_s, sd.PAUSE))
    return out


def align_recording(wav: Path, text: str) -> dict:
    """Forced alignment of a 16 kHz mono WAV to its transcript with pocketsphinx (pip `pocketsphinx`, bundled
    en-us model; `pip install -e .[train]`) -> the JSON layout alignment_phones reads (times in seconds).
    How evaldata/*/*.phone.json were made: `python -m facecast.runtime.workshop.motion.realspeech FILE.wav`."""
    import soundfile as sf
    from pocketsphinx import Decoder

    audio, rate_hz = sf.read(wav, dtype="int16")
    if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
        raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
    pcm = audio.tobytes()
    decoder = Decoder(samprate=SAMPLE_RATE_HZ, bestpath=False)
    decoder.set_align_text(text)
    for phase in ("words", "phones"):  # first pass: word alignment; second: phones within it
        if phase == "phones":
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    frame_s = 0.01
    return {"t": text, "w": [{"t": word.name, "b": round(word.start * frame_s, 3), "d": round(word.duration * frame_s, 3),
                              "w": [{"t": ph.name, "b": round(ph.start * frame_s, 3), "d": round(ph.duration * frame_s, 3)}
                                    for ph in word]}
                             for word in decoder.get_alignment()]}


def librivox_utterances(folder: Path = LIBRIVOX_DIR) -> list[MotionUtterance]:
    """The real-speech condition: (audio (n,) float32 at 16 kHz, phones) per utterance, in fileid order."""
    import soundfile as sf

    out = []
    for wav in sorted(folder.glob("*.wav")):
        audio, rate_hz = sf.read(wav, dtype="float32")
        if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
            raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
        alignment = json.loads(wav.with_suffix(".phone.json").read_text())
        duration_s = len(audio) / SAMPLE_RATE_HZ
        speech = sd.PhoneTimedSpeech(audio=audio, sample_rate_hz=SAMPLE_RATE_HZ,
                                     phones=alignment_phones(alignment, duration_s),
                                     text=wav.with_suffix(".txt").read_text().strip(), voice="librivox")
        out.append(MotionUtterance(np.ascontiguousarray(audio), speech))
    if not out:
        raise FileNotFoundError(f"no LibriVox utterances in {folder}")
    return out


def real_utterances() -> list[MotionUtterance]:
    """Every real recording with phone boundaries, tagged by group: "en/real-librivox" (one reader, read
    prose), "en/real-cmu" (CMU Sphinx test recordings: commands and card names)."""
    out = []
    for folder, group in ((LIBRIVOX_DIR, "en/real-librivox"), (CMU_DIR, "en/real-cmu")):
        for utt in librivox_utterances(folder):
            utt.group = group
            out.append(utt)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="force-align WAVs to their .txt transcripts (writes .phone.json)")
    p.add_argument("wavs", nargs="+", type=Path)
    for wav in p.parse_args(argv).wavs:
        alignment = align_recording(wav, wav.with_suffix(".txt").read_text().strip())
        wav.with_suffix(".phone.json").write_text(json.dumps(alignment) + "\n")


if __name__ == "__main__":
    main()
