"""A third speech synthesizer with phone timings: Festival 2.5 (Debian `festival` + `festvox-*` voices).

Two separate voice lists. FESTIVAL_VOICES are evaluation voices, never trained on, so the lip model has not
heard their voices or languages: US English (kal diphone, slt HTS), Italian (lp diphone), Czech (ph), Finnish
(suopuhe lj). FESTIVAL_TRAIN_VOICES are training voices built from real recordings, in languages outside the
evaluation: Russian (msu_ru_nsh, unit selection: concatenated real speech) and Catalan (upc_ca_ona, HTS).

`synthesize_festival(text, voice="kal", duration_stretch=1.0, pad_s=0.0) -> speechdata.PhoneTimedSpeech`
writes a small Scheme script (text in the voice's own encoding: Festival reads bytes), runs `festival -b`, reads the WAV
(resampled to 16 kHz) and `utt.save.segs`'s phone end times. Each voice's phone set is mapped to the IPA
symbols speechdata's viseme table knows (FESTIVAL_PHONES; the training voices' own TRAIN_PHONES);
"#"/"pau" are pauses. duration_stretch works only where the voice allows it (HTS voices: hts_engine's speed
rate "-r"); unit selection and diphone voices speak at their own rate and refuse any other stretch.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import speechdata as sd
from .utterance import MotionUtterance
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ


# short name -> (Festival voice function, language, text encoding, Debian package)
FESTIVAL_VOICES: dict[str, tuple[str, str, str, str]] = {
    "kal": ("voice_kal_diphone", "en-us", "latin-1", "festvox-kallpc16k"),
    "slt": ("voice_cmu_us_slt_arctic_hts", "en-us", "latin-1", "festvox-us-slt-hts"),
    "it": ("voice_lp_diphone", "it", "latin-1", "festvox-italp16k"),
    "cs": ("voice_czech_ph", "cs", "iso-8859-2", "festvox-czech-ph"),
    "fi": ("voice_suo_fi_lj_diphone", "fi", "latin-1", "festvox-suopuhe-lj"),
}
# Training voices, same layout. Their languages must stay out of the evaluation (tests check the two apart).
# The Russian lexicon splits words with utf8explode, so its text goes in as UTF-8.
FESTIVAL_TRAIN_VOICES: dict[str, tuple[str, str, str, str]] = {
    "ru": ("voice_msu_ru_nsh_clunits", "ru", "utf-8", "festvox-ru"),
    "ca": ("voice_upc_ca_ona_hts", "ca", "latin-1", "festvox-ca-ona-hts"),
}
HTS_VOICES = ("slt", "ca")  # their speed goes through hts_engine_params; the others ignore Duration_Stretch

# Phone names of the Italian, Czech and Finnish phone sets that are not already IPA (stress digits and
# length marks ":" are stripped first; a doubled consonant "l:" is the same gesture held).
FESTIVAL_PHONES: dict[str, str] = {
    "#": sd.PAUSE, "pau": sd.PAUSE, "sil": sd.PAUSE,
    # Italian (lp)
    "dZ": "dʒ", "tS": "tʃ", "S": "ʃ", "J": "ɲ", "L": "ʎ", "E": "ɛ", "O": "ɔ", "nf": "ɱ", "ng": "ŋ", "g": "ɡ",
    # Czech (ph)
    "c~": "tʃ", "ch": "x", "r~": "r", "t~": "c", "d~": "ɟ", "n~": "ɲ", "s~": "ʃ", "z~": "ʒ", "Z": "ʒ",
    "c": "ts", "dz~": "dʒ", "h": "ɦ",
    # Finnish (suopuhe): ä, ö, ng
    "@": "æ", "7": "ø", "N": "ŋ",
}

# The training voices' phone sets, looked up per voice: Russian "ch"/"h" are not Czech's. Stress digits are
# stripped first (Catalan "a1").
_RU_SOFT = {"pp": "pʲ", "bb": "bʲ", "tt": "tʲ", "dd": "dʲ", "kk": "kʲ", "gg": "ɡʲ", "ff": "fʲ", "vv": "vʲ",
            "ss": "sʲ", "zz": "zʲ", "hh": "xʲ", "mm": "mʲ", "nn": "nʲ", "ll": "lʲ", "rr": "rʲ"}
TRAIN_PHONES: dict[str, dict[str, str]] = {
    # msu_ru (festvox/msu_ru_nsh_phoneset.scm): doubled vowel = stressed; a/e/i/y/u first-degree reduced,
    # ae/ay/ur second-degree (after a hard / soft consonant, reduced u); doubled consonant = palatalised (the
    # plain consonant's lip gesture: speechdata skips the ʲ).
    "ru": {"pau": sd.PAUSE, "#": sd.PAUSE,
           "ii": "i", "yy": "ɨ", "uu": "u", "ee": "e", "oo": "o", "aa": "a",
           "a": "ɐ", "e": "e", "i": "ɪ", "y": "ɨ", "u": "ʊ", "ae": "ə", "ay": "ɪ", "ur": "ʊ",
           "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "ɡ", "f": "f", "v": "v", "s": "s", "z": "z",
           "m": "m", "n": "n", "l": "l", "r": "r", "h": "x", "j": "j",
           "c": "ts", "ch": "tɕ", "sh": "ʂ", "zh": "ʐ", "sch": "ɕː", **_RU_SOFT},
    # upc_catalan-central (upc_catalan/upc_catalan_phones-central.scm): E/O open mid vowels, ax schwa,
    # j/w glides, J/L palatal nasal/lateral, r tap, rr trill.
    "ca": {"pau": sd.PAUSE, "_": sd.PAUSE, "#": sd.PAUSE,
           "a": "a", "e": "e", "E": "ɛ", "i": "i", "o": "o", "O": "ɔ", "u": "u", "ax": "ə", "j": "j", "w": "w",
           "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "ɡ", "f": "f", "s": "s", "z": "z",
           "S": "ʃ", "Z": "ʒ", "m": "m", "n": "n", "J": "ɲ", "l": "l", "L": "ʎ", "r": "ɾ", "rr": "r"},
}


def voice_entry(voice: str) -> tuple[str, str, str, str]:
    """(Festival voice function, language, text encoding, Debian package) of an evaluation or training voice."""
    entry = FESTIVAL_VOICES.get(voice) or FESTIVAL_TRAIN_VOICES.get(voice)
    if entry is None:
        raise ValueError(f"festival voice {voice!r} not one of {tuple(FESTIVAL_VOICES) + tuple(FESTIVAL_TRAIN_VOICES)}")
    return entry


def festival_available(voice: str = "kal") -> bool:
    """True when festival and the voice's Debian package are installed."""
    if shutil.which("festival") is None:
        return False
    func = voice_entry(voice)[0].removeprefix("voice_")
    return any(Path("/usr/share/festival/voices").glob(f"*/{func}"))


def festival_phone(name: str, voice: str) -> str:
    """One Festival phone name -> the IPA (or PAUSE) name speechdata maps to visemes."""
    if voice in TRAIN_PHONES:
        table = TRAIN_PHONES[voice]
        return table.get(name) or table.get(name.rstrip("0123456789"), name)
    if FESTIVAL_VOICES[voice][1] == "en-us" and name not in ("#", "pau"):
        return sd.arpabet_phone(name)
    if name in FESTIVAL_PHONES:
        return FESTIVAL_PHONES[name]
    base = name.rstrip("0123456789").rstrip(":")
    return FESTIVAL_PHONES.get(base, base)


def parse_segs(text: str, voice: str, duration_s: float) -> list[tuple[float, float, str]]:
    """`utt.save.segs` output ("#" header, then "end_s 100 phone" lines) -> (start_s, end_s, name) tiling
    [0, duration_s], consecutive pauses merged."""
    ends = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3:
            ends.append((float(parts[0]), festival_phone(parts[2], voice)))
    return sd.tile_phones(ends, duration_s)


def synthesize_festival(text: str, voice: str = "kal", duration_stretch: float = 1.0,
                        pad_s: float = 0.0) -> sd.PhoneTimedSpeech:
    """Speak `text` (in the voice's language) with Festival -> 16 kHz mono audio and phone intervals.
    voice: a FESTIVAL_VOICES or FESTIVAL_TRAIN_VOICES name. duration_stretch: 0.5..2 (> 1 slower), HTS voices
    only (HTS_VOICES). RuntimeError when festival or the voice is missing (names the Debian package to install)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    func, _, encoding, package = voice_entry(voice)
    if duration_stretch != 1.0 and voice not in HTS_VOICES:
        raise ValueError(f"festival voice {voice} speaks at its own rate; duration_stretch works for {HTS_VOICES}")
    if not 0.5 <= duration_stretch <= 2.0:
        raise ValueError(f"duration_stretch {duration_stretch} outside 0.5..2")
    if not festival_available(voice):
        raise RuntimeError(f"festival voice {voice} missing; install: apt-get install festival {package}")
    if not text.strip() or '"' in text or "\\" in text:
        raise ValueError("text must be non-empty and hold no quotes or backslashes")
    # hts_engine's "-r" is a speed rate: durations scale by 1 / r
    speed = (f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {1 / duration_stretch:.4f}))))\n'
             if duration_stretch != 1.0 else "")
    with tempfile.TemporaryDirectory() as tmp:
        wav, segs, scm = Path(tmp) / "out.wav", Path(tmp) / "out.segs", Path(tmp) / "say.scm"
        scm.write_bytes((f'({func})\n{speed}(set! u (Utterance Text "{text}"))\n(utt.synth u)\n'
                         f'(utt.save.wave u "{wav}" (quote riff))\n(utt.save.segs u "{segs}")\n').encode(encoding))
        run = subprocess.run(["festival", "-b", str(scm)], capture_output=True, timeout=120)
        if run.returncode != 0 or not wav.is_file() or not segs.is_file():
            raise RuntimeError(f"festival failed ({run.returncode}): {run.stderr.decode(errors='replace')[:200]}")
        audio, rate_hz = sf.read(wav, dtype="float32")
        seg_text = segs.read_text(errors="replace")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if rate_hz != SAMPLE_RATE_HZ:
        g = np.gcd(int(rate_hz), SAMPLE_RATE_HZ)
        audio = resample_poly(audio.astype(np.float64), SAMPLE_RATE_HZ // g, int(rate_hz) // g).astype(np.float32)
    phones = parse_segs(seg_text, voice, len(audio) / SAMPLE_RATE_HZ)
    speech = sd.PhoneTimedSpeech(np.asarray(audio, np.float32), SAMPLE_RATE_HZ, phones, text, f"festival-{voice}")
    return sd.pad(speech, pad_s) if pad_s > 0 else speech


# Unit-selection voices ship the recordings they were built from, with their phone labels (Xlabel .lab files:
# "end_s 125 phone" lines after a "#" header). msu_ru_nsh: 620 read sentences, about 100 min of one male
# speaker, 16 kHz; labels from the voice build's automatic alignment (speech onsets after a pause lie a median
# 10 ms after their label: 713 onsets in the first 200 recordings, by frame energy).
RECORDED_VOICES: dict[str, str] = {"ru": "russian/msu_ru_nsh_clunits"}
VOICES_DIR = Path("/usr/share/festival/voices")


def voice_recordings(voice: str = "ru", limit: int | None = None,
                     voices_dir: Path = VOICES_DIR) -> list[MotionUtterance]:
    """The real recordings behind a unit-selection training voice (voices_dir/RECORDED_VOICES[voice]/{wav,lab}),
    as MotionUtterance (audio (n,) float32 at 16 kHz, phone intervals in speechdata's names tiling it), in file
    name order; at most `limit` of them. RuntimeError when the voice's Debian package is missing."""
    import soundfile as sf

    if voice not in RECORDED_VOICES:
        raise ValueError(f"no recordings for festival voice {voice!r}; recorded voices: {tuple(RECORDED_VOICES)}")
    root = Path(voices_dir) / RECORDED_VOICES[voice]
    wavs = sorted((root / "wav").glob("*.wav"))[:limit]
    if not wavs:
        raise RuntimeError(f"recordings of festival voice {voice} missing; install: apt-get install "
                           f"{voice_entry(voice)[3]}")
    out = []
    for wav in wavs:
        audio, rate_hz = sf.read(wav, dtype="float32")
        if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
            raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
        phones = parse_segs((root / "lab" / wav.with_suffix(".lab").name).read_text(encoding="utf-8"), voice,
                            len(audio) / rate_hz)
        speech = sd.PhoneTimedSpeech(audio=audio, sample_rate_hz=rate_hz, phones=phones, text=wav.stem,
                                     voice=f"festival-{voice}-recorded")
        out.append(MotionUtterance(np.ascontiguousarray(audio), speech))
    return out
