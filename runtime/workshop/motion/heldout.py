"""A held-out lip-sync set of voices, languages and rooms the lip model never trained on.

`heldout_utterances() -> list[MotionUtterance]`, each tagged with `group` ("language/condition"):
- clean synthetic speech from Festival voices (festival.py): US English kal and slt, Italian, Czech,
  Finnish; and espeak-ng speaking Czech, Finnish and Mandarin (languages not in the training list) with
  variants not used in training;
- English degraded three ways, each applied to both Festival English voices: room reverb (RT60 0.5 s, a
  fixed seed), telephone band (300-3400 Hz) and lowered pitch (resampled 1.2x slower: pitch and formants
  down a sixth, phone times stretched by the same factor, so the labels stay exact);
- real recorded speech (realspeech.real_utterances): recordings of people with forced-aligned or
  hand-checked phone boundaries, including Mandarin.

Every clip is levelled to -20 dBFS RMS. The sentences below are written for this set (not the training word
lists). Needs the Debian packages festival, festvox-kallpc16k, festvox-us-slt-hts, festvox-italp16k,
festvox-czech-ph, festvox-suopuhe-lj (voices that are missing are skipped, and `missing` says so).
"""

from __future__ import annotations

import numpy as np

from . import speechdata as sd
from .festival import FESTIVAL_VOICES, festival_available, synthesize_festival
from .utterance import MotionUtterance
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ

LEVEL_DBFS = -20.0
REVERB_RT60_S = 0.5
LOW_PITCH_STRETCH = 1.2

SENTENCES: dict[str, tuple[str, ...]] = {
    "en-us": ("My mother baked a pie for the people upstairs.",
              "Bob parked the van by the old barn at about five.",
              "Please open the map, and tell me what you see.",
              "A big black bear ate all of the apples."),
    "it": ("La mamma prepara una buona pasta per tutti.",
           "Il babbo parla al telefono mentre cammina.",
           "Domani andiamo al mare con la macchina nuova.",
           "Per piacere, apri la porta della cucina."),
    "cs": ("Máma peče buchty a táta pije pivo.",
           "Pavel bydlí v malém domě blízko parku.",
           "Zítra pojedeme do Prahy vlakem.",
           "Babička má ráda modré a bílé květiny."),
    "fi": ("Äiti paistaa pullaa ja isä ostaa maitoa.",
           "Pekka ajaa punaisella autolla kotiin.",
           "Huomenna menemme saunaan ja uimaan.",
           "Mummo antoi pojalle paljon omenoita."),
    # Mandarin as toneless pinyin: Debian's espeak-ng reads Han characters and tone digits as English numbers
    "zh": ("ma ma mai le yi ben shu.", "ba ba ming tian bu qu bei jing.", "wo men chi fan ba, hao ma?",
           "ta man man de da kai men."),
}
# espeak-ng voices for the languages the lip model never trained on (variants not in train_lips' list)
# (Mandarin: espeak-ng's cmn beside the real Mandarin syllables in realspeech.REAL_EVAL_SETS)
ESPEAK_VOICES = {"cs": "cs+m3", "fi": "fi+f2", "zh": "cmn"}
_TELEPHONE_BAND_HZ = (300, 3400)


def _level(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x * 10 ** (LEVEL_DBFS / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def _to_16k(speech: sd.PhoneTimedSpeech) -> sd.PhoneTimedSpeech:
    from scipy.signal import resample_poly

    if speech.sample_rate_hz == SAMPLE_RATE_HZ:
        return speech
    g = np.gcd(speech.sample_rate_hz, SAMPLE_RATE_HZ)
    audio = resample_poly(speech.audio.astype(np.float64), SAMPLE_RATE_HZ // g, speech.sample_rate_hz // g)
    return sd.PhoneTimedSpeech(audio.astype(np.float32), SAMPLE_RATE_HZ, speech.phones, speech.text, speech.voice)


def reverb(x: np.ndarray, rt60_s: float = REVERB_RT60_S, seed: int = 0) -> np.ndarray:
    """A room: exponentially decaying noise impulse response (direct path first, so no delay), RT60 rt60_s."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    t = np.arange(int(rt60_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s) * 0.2
    ir[0] = 1.0
    return fftconvolve(np.asarray(x, np.float64), ir)[: len(x)]


def telephone(x: np.ndarray) -> np.ndarray:
    """300-3400 Hz band, 4th-order Butterworth (a phone line)."""
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(4, _TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos"), x)


def lower_pitch(speech: sd.PhoneTimedSpeech, stretch: float = LOW_PITCH_STRETCH) -> sd.PhoneTimedSpeech:
    """Play `stretch` times slower (pitch and formants divided by stretch); phone times scale with it."""
    from scipy.signal import resample_poly

    up = int(round(stretch * 10))
    audio = resample_poly(speech.audio.astype(np.float64), up, 10).astype(np.float32)
    scale = len(audio) / len(speech.audio)
    phones = [(a * scale, b * scale, n) for a, b, n in speech.phones]
    phones[-1] = (phones[-1][0], len(audio) / SAMPLE_RATE_HZ, phones[-1][2])
    return sd.PhoneTimedSpeech(audio, SAMPLE_RATE_HZ, phones, speech.text, speech.voice + "-low")


def _utt(speech: sd.PhoneTimedSpeech, audio: np.ndarray, group: str) -> MotionUtterance:
    return MotionUtterance(_level(audio), speech, group=group)


def synthetic_heldout(missing: list[str] | None = None) -> list[MotionUtterance]:
    """The synthetic part: clean per language/voice, then the three degraded English conditions."""
    out: list[MotionUtterance] = []
    english: list[sd.PhoneTimedSpeech] = []
    for voice, (_, lang, _, package) in FESTIVAL_VOICES.items():
        if not festival_available(voice):
            if missing is not None:
                missing.append(package)
            continue
        for text in SENTENCES[lang]:
            speech = synthesize_festival(text, voice, pad_s=0.3)
            out.append(_utt(speech, speech.audio, f"{lang}/clean-festival"))
            if lang == "en-us":
                english.append(speech)
    for lang, voice in ESPEAK_VOICES.items():
        for text in SENTENCES[lang]:
            speech = _to_16k(sd.synthesize(text, voice, pad_s=0.3))
            out.append(_utt(speech, speech.audio, f"{lang}/clean-espeak"))
    for i, speech in enumerate(english):
        out.append(_utt(speech, reverb(speech.audio, seed=i), "en-us/reverb"))
        out.append(_utt(speech, telephone(speech.audio), "en-us/telephone"))
        low = lower_pitch(speech)
        out.append(_utt(low, low.audio, "en-us/low-pitch"))
    return out


def heldout_utterances(missing: list[str] | None = None) -> list[MotionUtterance]:
    """Synthetic held-out clips then the real recordings (realspeech.real_utterances)."""
    from .realspeech import real_utterances

    return synthetic_heldout(missing) + real_utterances()
