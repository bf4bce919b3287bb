"""Real letters, syllables and short words from KLettres (Debian `klettres-data`, GPL-2+): one real speaker per
language folder, recorded for children learning to read; 1,677 files in the 17 folders espeak-ng can speak.

Each language folder of /usr/share/klettres holds alpha/*.ogg (the letters) and syllab/*.ogg (syllables and short
words such as "ba", "me", "dog"), and sounds.xml names the text of every file. Why it matters for the lip model:
the syllables set /b p m/ against /d t n/ before every vowel, spoken by real people with real microphones and
rooms, the contrast the model misreads most on real voices (a nasal or a stop taken for a closure). The Italian
and Czech speakers are the evaluation sets evaldata/klettres_it and klettres_cs; the rest can be trained on.

No aligner installs offline for most of these languages, so `align_word` places espeak-ng's phones much as
`mandarin.py` does for Mandarin: espeak speaks the text with the language's voice; the speech onset and offset are
the edges of the loud stretch (landmarks.energy_span; the files carry up to seconds of room noise around the word,
over which a warp alone spreads it); the boundary after a word-initial consonant is the voicing onset (voiceless)
or the release (m n l r, and b d g after their voice bar) (landmarks.py); espeak's rendering is warped onto the
recording between those anchors (dtw_align), which places the rest. Silence before and after is speechdata.PAUSE.

`python -m facecast.runtime.workshop.motion.klettres OUT_DIR --hold-out it cs` writes OUT_DIR/<language>/NAME.wav
(16 kHz mono), NAME.txt and NAME.phones.json (realspeech layout) for `train_lips --real-dirs OUT_DIR/*`, about 35 s.
Needs `apt-get install klettres-data` (40 MB; training only, the evaluation sets are in the repository).
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dtw_align, landmarks, speechdata as sd
from .realspeech import phones_record
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ

KLETTRES_DIR = Path("/usr/share/klettres")
# KLettres language folder -> espeak-ng voice. Left out: Low German, Indonesian and Nynorsk (no voice or no
# recordings), Hebrew and Arabic (their texts are unvocalised letters and syllables: espeak-ng's reading of them
# is a guess, and the phones would be as wrong as the guess).
VOICES: dict[str, str] = {
    "cs": "cs", "da": "da", "de": "de", "en": "en-us", "en_GB": "en", "es": "es", "fr": "fr",
    "hu": "hu", "it": "it", "lt": "lt", "ml": "ml", "nb": "nb", "nl": "nl", "pt_BR": "pt-br",
    "ru": "ru", "tn": "tn", "uk": "uk",
}
MAX_PER_LANGUAGE = 120  # Malayalam has 521 files: evenly spaced ones, so that no one speaker dominates
MAX_DURATION_S = 10.0  # a few Danish letters run 6-7 s (long silences); anything longer is not one syllable
KEEP_SILENCE_S = 0.4  # room noise kept around the speech
EDGE_PAUSE_S = 0.03  # silence kept around espeak's rendering (mandarin.EDGE_PAUSE_S)
MIN_INITIAL_S = 0.02  # as mandarin.MIN_STOP_S: the loud stretch starts at a stop's release, the lips set before
# First characters of espeak-ng's IPA phone names, for the landmark after a word-initial consonant (_release)
VOWEL_START = frozenset("aeiouyɑɐɛɔəɪʊæøœɒʌɨɯɤɜ")
VOICELESS_START = frozenset("ptkfsʃxhθçcqʂɕ")
# nasals, liquids and voiced stops: the vowel starts where its formant power rises (a voice bar has little there)
SONORANT_START = frozenset("mnlrɾɲŋʎɫbdɡg")  # voiced fricatives: no landmark, the warp alone
FRONT_CLOSE_START = frozenset("iyjɪ")  # a first formant as low as a murmur's: landmarks.sonorant_release(front)
METHOD = ("speech edges at the loud stretch (landmarks.energy_span), the boundary after an initial consonant at "
          "its voicing onset or release (landmarks.py); espeak-ng's rendering DTW-warped onto the recording between "
          "those anchors (dtw_align)")


@dataclass(frozen=True)
class Recording:
    """One KLettres file: language folder, its text (a letter, a syllable or a short word) and the .ogg path."""

    language: str
    text: str
    path: Path


def recordings(root: Path = KLETTRES_DIR, languages: tuple[str, ...] | None = None) -> list[Recording]:
    """Every file sounds.xml names, for the languages in VOICES (or `languages`), in the file's order.
    FileNotFoundError with the install hint when the package is missing."""
    if not any(root.glob("*/sounds.xml")):
        raise FileNotFoundError(f"no KLettres recordings under {root}; install them with "
                                "`sudo apt-get install klettres-data`")
    out = []
    for lang in sorted(VOICES if languages is None else languages):
        if lang not in VOICES:
            raise ValueError(f"no espeak-ng voice known for KLettres language {lang!r}; known: {sorted(VOICES)}")
        if not (root / lang / "sounds.xml").is_file():
            continue  # a language the package (or this version of it) lacks
        for sound in ET.parse(root / lang / "sounds.xml").getroot().iter("sound"):
            text, file = (sound.get("name") or "").strip(), sound.get("file") or ""
            path = root / file
            if text and path.is_file():
                out.append(Recording(lang, text, path))
    return out


def read_16k(path: Path) -> np.ndarray:
    """(N,) float32 16 kHz mono: the file downmixed and resampled; ValueError past MAX_DURATION_S."""
    import soundfile as sf

    info = sf.info(path)
    if info.duration > MAX_DURATION_S:
        raise ValueError(f"{path}: {info.duration:.1f} s, longer than a syllable ({MAX_DURATION_S} s)")
    audio, rate_hz = sf.read(path, dtype="float32", always_2d=True)
    return dtw_align.to_16k(audio.mean(axis=1), rate_hz)


def align_word(audio: np.ndarray, text: str, voice: str, noise_db: float) -> list[tuple[float, float, str]]:
    """(start_s, end_s, IPA or PAUSE) tiling a (N,) float32 16 kHz recording of `text` spoken alone.

    noise_db: the language's quiet level (median landmarks.quiet_level_db of its files). RuntimeError when
    espeak-ng speaks no phone for the text."""
    synth = dtw_align.trim_edge_pauses(sd.synthesize(text, voice, pad_s=EDGE_PAUSE_S), EDGE_PAUSE_S)
    spoken = [k for k, p in enumerate(synth.phones) if p[2] != sd.PAUSE]
    if not spoken:
        raise RuntimeError(f"espeak-ng voice {voice!r} spoke no phone for {text!r}")
    first, last = spoken[0], spoken[-1]
    inner = synth.phones[first:last + 1]
    times = [start for start, _, _ in inner] + [inner[-1][1]]
    duration_s = len(audio) / SAMPLE_RATE_HZ
    # The files hold up to seconds of room noise around the word, which an unanchored warp spreads the word
    # over; the loud stretch is the better edge here (mandarin.py, on files cut tight, takes the union).
    mel = dtw_align.mel_5ms(audio)
    energy = landmarks.energy_span(mel, noise_db)
    if energy:
        onset_s, offset_s = energy[0], min(duration_s, energy[1])
    else:
        warped = dtw_align.transfer_boundaries(audio, synth, times)
        onset_s, offset_s = warped[0], warped[-1]
    anchors = [(times[0], onset_s), (times[-1], offset_s)]
    release_s = _release(audio, mel, [name for _, _, name in inner], onset_s, offset_s)
    if release_s is not None:
        anchors.insert(1, (times[1], release_s))
    bounds = dtw_align.transfer_boundaries(audio, synth, times, anchors)
    if len(inner) > 1 and bounds[1] - bounds[0] < MIN_INITIAL_S:
        bounds[0] = max(0.0, bounds[1] - MIN_INITIAL_S)
    phones: list[tuple[float, float, str]] = []
    if bounds[0] > 0:
        phones.append((0.0, bounds[0], sd.PAUSE))
    phones.extend((a, b, name) for (_, _, name), a, b in zip(inner, bounds, bounds[1:]) if b > a)
    if bounds[-1] < duration_s:
        phones.append((bounds[-1], duration_s, sd.PAUSE))
    return phones


def _release(audio: np.ndarray, mel: np.ndarray, names: list[str], onset_s: float,
             offset_s: float) -> float | None:
    """Where the vowel after a word-initial consonant starts (landmarks.py; mel: dtw_align.mel_5ms of the audio),
    or None: the voicing onset after a voiceless consonant, the release (the rise of the vowel's formant power)
    after a nasal or a liquid, as mandarin.align_syllable does, and after a voiced stop. An unanchored warp puts
    that boundary tens of ms early after a long murmur (espeak-ng speech spoken slower than the rendering: n|a
    76 ms early, 29 ms with the anchor) and, on the real recordings, up to 150 ms early after the voice bar of a
    prevoiced b d g (Czech "do": the vowel at 18 ms instead of its release at 160 ms; with the anchor 175 ms)."""
    if len(names) < 2 or names[0][0] not in VOICELESS_START | SONORANT_START or names[1][0] not in VOWEL_START:
        return None
    start_s, end_s = onset_s + landmarks.GUARD_S, offset_s - landmarks.GUARD_S
    if names[0][0] in VOICELESS_START:
        found = landmarks.voicing_onset(audio, mel, start_s, end_s)
    else:
        found = landmarks.sonorant_release(mel, start_s, end_s, front=names[1][0] in FRONT_CLOSE_START)
    return found if found is not None and start_s < found < end_s else None


def write_language(recs: list[Recording], out_dir: Path) -> int:
    """Align and write one language's recordings into out_dir (realspeech layout). Returns files written;
    a file espeak-ng cannot speak is reported and skipped."""
    import soundfile as sf

    kept, audios = [], []
    for rec in recs:
        try:
            audios.append(read_16k(rec.path))
            kept.append(rec)
        except (ValueError, RuntimeError) as exc:  # soundfile raises RuntimeError on a broken file
            print(f"skipped {rec.path.name}: {exc}", flush=True)
    recs = kept
    noise_db = float(np.median([landmarks.quiet_level_db(a) for a in audios]))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for k, (rec, audio) in enumerate(zip(recs, audios)):
        try:
            phones = align_word(audio, rec.text, VOICES[rec.language], noise_db)
        except RuntimeError as exc:
            print(f"skipped {rec.path.name}: {exc}", flush=True)
            continue
        # cut to KEEP_SILENCE_S of room noise either side of the speech, the phones moved to match
        cut = dtw_align.trim_edge_pauses(sd.PhoneTimedSpeech(audio, SAMPLE_RATE_HZ, phones, rec.text, rec.language),
                                         KEEP_SILENCE_S)
        audio, phones = cut.audio, cut.phones
        stem = f"{rec.path.parent.name}_{k:03d}_{rec.path.stem}"
        sf.write(out_dir / f"{stem}.wav", audio, SAMPLE_RATE_HZ, subtype="PCM_16")
        (out_dir / f"{stem}.txt").write_text(rec.text + "\n", encoding="utf-8")
        record = phones_record(phones, rec.text, METHOD, len(audio) / SAMPLE_RATE_HZ)
        (out_dir / f"{stem}.phones.json").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="align KLettres' real syllables with espeak-ng and write them in the "
                                            "realspeech layout, one folder per language")
    p.add_argument("out", type=Path)
    p.add_argument("--root", type=Path, default=KLETTRES_DIR)
    p.add_argument("--languages", nargs="*", default=list(VOICES),
                   help="KLettres folder names to write (default: all with an espeak-ng voice)")
    p.add_argument("--hold-out", nargs="*", default=[], help="languages to leave out (KLettres folder names)")
    args = p.parse_args(argv)
    recs = recordings(args.root, tuple(args.languages))
    languages = [lang for lang in args.languages if lang not in args.hold_out]
    total = 0
    for lang in languages:
        mine = [r for r in recs if r.language == lang]
        if len(mine) > MAX_PER_LANGUAGE:
            mine = [mine[i] for i in np.linspace(0, len(mine) - 1, MAX_PER_LANGUAGE).round().astype(int)]
        if mine:
            n = write_language(mine, args.out / lang)
            total += n
            print(f"{lang}: {n} of {len(mine)} recordings", flush=True)
    print(f"{total} recordings in {len(languages)} languages under {args.out}")


if __name__ == "__main__":
    main()
