"""A second speech synthesizer with phone timings: flite (Debian package `flite`), English only.

espeak-ng's formant voices all share one vocoder; flite's clustergen voices (awb, rms, slt) are statistical
parametric voices trained on recordings of real speakers, closer to the spectra of natural speech, so
training on both keeps the lip model from learning one synthesizer's fingerprint.

`synthesize_flite(text, voice="awb", duration_stretch=1.0, pad_s=0.0) -> speechdata.PhoneTimedSpeech`
runs `flite -voice V -psdur`, which prints every phone with its end time ("pau:0.164 hh:0.255 ..."), and
reads the WAV it writes (16 kHz mono; kal is 8 kHz). Phone names are CMU/ARPAbet and are converted with
speechdata.ARPABET_IPA, "pau" to speechdata.PAUSE. flite gives a stop its closure silence (the phone ends at
the burst), the convention speechdata uses for espeak after _claim_silence.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import speechdata as sd

FLITE_VOICES = ("awb", "rms", "slt", "kal16")  # kal (8 kHz) and awb_time (a talking clock) left out


def flite_available() -> bool:
    return shutil.which("flite") is not None


def parse_psdur(text: str, duration_s: float) -> list[tuple[float, float, str]]:
    """flite's "-psdur" output ("pau:0.164 hh:0.255 ...", end times in seconds) -> (start_s, end_s, name)
    tiling [0, duration_s]; names as IPA or PAUSE (speechdata.arpabet_phone); empty phones dropped."""
    ends = []
    for item in text.split():
        name, _, end = item.rpartition(":")
        ends.append((float(end), sd.arpabet_phone(name)))
    return sd.tile_phones(ends, duration_s)


def synthesize_flite(text: str, voice: str = "awb", duration_stretch: float = 1.0,
                     pad_s: float = 0.0) -> sd.PhoneTimedSpeech:
    """Speak English `text` with flite. duration_stretch: 0.5..2 (1 = the voice's own rate; > 1 slower).
    pad_s: seconds of digital silence added at both ends. Raises RuntimeError when flite is missing."""
    import soundfile as sf

    if not text.strip():
        raise ValueError("text is empty; give at least one word to speak")
    if voice not in FLITE_VOICES:
        raise ValueError(f"flite voice {voice!r} not one of {FLITE_VOICES}")
    if not 0.5 <= duration_stretch <= 2.0:
        raise ValueError(f"duration_stretch {duration_stretch} outside 0.5..2")
    if not flite_available():
        raise RuntimeError("flite not found; install the Debian package: apt-get install flite")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        run = subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={duration_stretch:.3f}",
                              "-psdur", "-o", str(wav), "-t", text], capture_output=True, text=True, timeout=60)
        if run.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"flite failed ({run.returncode}): {run.stderr.strip()[:200]}")
        audio, rate_hz = sf.read(wav, dtype="float32")
    phones = parse_psdur(run.stdout, len(audio) / rate_hz)
    speech = sd.PhoneTimedSpeech(np.asarray(audio, np.float32), int(rate_hz), phones, text, f"flite-{voice}",
                                 rate_wpm=int(round(175 / duration_stretch)))
    return sd.pad(speech, pad_s) if pad_s > 0 else speech
