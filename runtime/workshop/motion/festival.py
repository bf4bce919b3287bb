"""A third speech synthesizer with phone timings: Festival 2.5 (Debian `festival` + `festvox-*` voices).

Used for evaluation only (never for training), so its voices and languages are ones the lip model has not
heard: US English (kal diphone, slt HTS), Italian (lp diphone), Czech (ph), Finnish (suopuhe lj).

`synthesize_festival(text, voice="kal", pad_s=0.0) -> speechdata.PhoneTimedSpeech` writes a small Scheme
script (text in the voice's own 8-bit encoding: Festival reads bytes), runs `festival -b`, reads the WAV
(resampled to 16 kHz) and `utt.save.segs`'s phone end times. Each voice's phone set is mapped to the IPA
symbols speechdata's viseme table knows (FESTIVAL_PHONES); "#"/"pau" are pauses.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import speechdata as sd

SAMPLE_RATE_HZ = 16000

# short name -> (Festival voice function, language, text encoding, Debian package)
FESTIVAL_VOICES: dict[str, tuple[str, str, str, str]] = {
    "kal": ("voice_kal_diphone", "en-us", "latin-1", "festvox-kallpc16k"),
    "slt": ("voice_cmu_us_slt_arctic_hts", "en-us", "latin-1", "festvox-us-slt-hts"),
    "it": ("voice_lp_diphone", "it", "latin-1", "festvox-italp16k"),
    "cs": ("voice_czech_ph", "cs", "iso-8859-2", "festvox-czech-ph"),
    "fi": ("voice_suo_fi_lj_diphone", "fi", "latin-1", "festvox-suopuhe-lj"),
}

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


def festival_available(voice: str = "kal") -> bool:
    """True when festival and the voice's Debian package are installed."""
    if shutil.which("festival") is None:
        return False
    func = FESTIVAL_VOICES[voice][0].removeprefix("voice_")
    return any(Path("/usr/share/festival/voices").glob(f"*/{func}"))


def festival_phone(name: str, voice: str) -> str:
    """One Festival phone name -> the IPA (or PAUSE) name speechdata maps to visemes."""
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


def synthesize_festival(text: str, voice: str = "kal", pad_s: float = 0.0) -> sd.PhoneTimedSpeech:
    """Speak `text` (in the voice's language) with Festival -> 16 kHz mono audio and phone intervals.
    RuntimeError when festival or the voice is missing (names the Debian package to install)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    if voice not in FESTIVAL_VOICES:
        raise ValueError(f"festival voice {voice!r} not one of {tuple(FESTIVAL_VOICES)}")
    func, lang, encoding, package = FESTIVAL_VOICES[voice]
    if not festival_available(voice):
        raise RuntimeError(f"festival voice {voice} missing; install: apt-get install festival {package}")
    if not text.strip() or '"' in text or "\\" in text:
        raise ValueError("text must be non-empty and hold no quotes or backslashes")
    with tempfile.TemporaryDirectory() as tmp:
        wav, segs, scm = Path(tmp) / "out.wav", Path(tmp) / "out.segs", Path(tmp) / "say.scm"
        scm.write_bytes((f'({func})\n(set! u (Utterance Text "{text}"))\n(utt.synth u)\n'
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
