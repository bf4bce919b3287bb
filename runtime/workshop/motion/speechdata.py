"""Synthetic speech with exact phone timings, and per-frame Oculus viseme targets, for lip-sync training.

`synthesize(text, voice="en+f3", rate_wpm=175, pitch=50)` (voice defaults to "en") drives libespeak-ng through ctypes (not the command
line, whose `--pho` needs mbrola) and returns a `PhoneTimedSpeech`: mono float32 audio in [-1, 1] plus
(start_s, end_s, phone) intervals that tile [0, duration_s] without gaps. Phone names are espeak's IPA names;
pauses (which espeak reports with an empty IPA name) are called `PAUSE` ("_").
`viseme_track(speech, frame_rate_hz=100)` turns those intervals into a (T, 15) float32 array over
`VISEME_NAMES`, each row the fraction of its frame spent in each viseme.

Measured on espeak-ng 1.51 (Debian 12), 2 CPU cores; `python tests/test_speechdata.py` reprints the figures
(28 sentences in en, en-us, de, fr, es, it, each voice plain and "+f3"):
- Event positions: the `sample` field of espeakEVENT_PHONEME is an absolute output sample index (it agrees
  with the truncated-ms `audio_position` to within 1 ms on all 2184 events), so labels are sample-exact with
  respect to where espeak queued each phone. What the audio shows differs for voiceless stops: espeak marks
  p/t/k (and tʃ, ts) at the release burst, so the silent closure, 30-50 ms when the lips are already shut,
  lands on the preceding vowel (label minus energy drop: median +38 ms, p90 48 ms, n=100). `_claim_silence`
  moves such stops, and phrase-final pauses (marked ~30 ms after the audio stops), back to where the level
  falls below -50 dBFS: for the plain voices the closure error becomes median 0, p90 1 ms (n=53).
  Limitation: "+f3" and other breathy variants fill closures with noise ramping to -40 dBFS, so there the
  fix mostly does not apply (median +28 ms, p90 47 ms, n=52).
- Vowel onsets after stops (label minus the first ms within 6 dB of the vowel's median level): median -2 ms,
  |err| median 5 ms, p90 39 ms (n=218); the tail is aspiration after k/t/p, which espeak counts as vowel.
- Speed: about 700-970 s of audio per second of wall time (one thread; the library is serial), i.e. the
  28-sentence corpus in two voices, 174 s of audio, synthesizes in 0.18-0.26 s.
- Reproducibility caveat: after a "de" voice has been used in a process, later pauses in other languages are
  ~39 ms longer (state espeak-ng keeps across voice changes; phones themselves are unchanged). For
  bit-identical datasets, synthesize in a fixed order or one language per process.

Thread safety: libespeak-ng keeps all its state in process globals (voice, parameters, one synth callback),
so every call here holds `_ESPEAK_LOCK`; threads calling `synthesize` run one after another. Separate
processes each load their own copy and may synthesize in parallel.

Needs the Debian package libespeak-ng1 (and espeak-ng-data, which it pulls in); no Python packages beyond numpy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from facecast.bridge.schema import VISEME_NAMES  # the wire order; re-exported for training code
PAUSE = "_"

# CMU/ARPAbet phone names (stress digits stripped; pocketsphinx, flite) -> the IPA symbol PHONE_VISEMES and
# SYMBOL_VISEME know, so speech labelled in ARPAbet is judged by the same viseme rules as espeak's.
ARPABET_IPA: dict[str, str] = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AX": "ə", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɜ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j",
    "Z": "z", "ZH": "ʒ",
}
# Silence in ARPAbet-labelled speech: flite's "pau", pocketsphinx's "SIL"/"SP" and its fillers (no mouth gesture).
ARPABET_SILENCE = frozenset({"PAU", "SIL", "SP", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+"})



def tile_phones(ends: list[tuple[float, str]], duration_s: float) -> list[tuple[float, float, str]]:
    """(end_s, name) pairs in time order, as a synthesizer reports them -> (start_s, end_s, name) intervals
    tiling [0, duration_s]: ends clipped to the audio, empty phones dropped, consecutive pauses merged, and
    the rest of the audio a pause."""
    out: list[tuple[float, float, str]] = []
    t_s = 0.0
    for end, name in ends:
        end_s = min(float(end), duration_s)
        if end_s <= t_s:
            continue
        if out and name == PAUSE and out[-1][2] == PAUSE:
            out[-1] = (out[-1][0], end_s, PAUSE)
        else:
            out.append((t_s, end_s, name))
        t_s = end_s
    if duration_s > t_s + 1e-9:
        if out and out[-1][2] == PAUSE:
            out[-1] = (out[-1][0], duration_s, PAUSE)
        else:
            out.append((t_s, duration_s, PAUSE))
    return out


def arpabet_phone(name: str) -> str:
    """An ARPAbet phone name in any case, stress digit allowed ("AE1", "ax", "pau") -> its IPA symbol, or
    PAUSE for silence; ValueError for a name that is neither. "AH0" (unstressed) is the schwa ə, like "AX";
    "AH" with another digit or none is the open ʌ."""
    label = name.upper()
    if label == "AH0":  # the reduced vowel of "the", "a", "-ble": a half-open jaw, not the open /ʌ/ of "cut"
        return ARPABET_IPA["AX"]
    label = label.rstrip("012")
    if label in ARPABET_SILENCE:
        return PAUSE
    if label in ARPABET_IPA:
        return ARPABET_IPA[label]
    raise ValueError(f"unknown phone {name!r}: not in ARPABET_IPA or ARPABET_SILENCE")

# --- libespeak-ng ABI (speak_lib.h, API revision 12) -------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000  # without it a missing espeak-ng-data calls exit() inside the library
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # read [[...]] as espeak phoneme mnemonics (Mandarin syllables its pinyin rules misread)
_ENDPAUSE = 0x1000  # keep the sentence-final pause, so every clip ends in silence
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_RATE_RANGE_WPM = (80, 450)
_ERRORS = {-1: "EE_INTERNAL_ERROR", 1: "EE_BUFFER_FULL", 2: "EE_NOT_FOUND"}


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT; `sample` is the absolute output sample index at which the event occurs."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakUnavailable(RuntimeError):
    """libespeak-ng could not be loaded or initialised."""


@dataclass
class _Collector:
    """What the synth callback gathers during one `espeak_Synth` call."""

    chunks: list[np.ndarray] = field(default_factory=list)
    # (sample index, audio_position ms, IPA name) per phoneme event
    events: list[tuple[int, int, str]] = field(default_factory=list)
    error: BaseException | None = None


class _Espeak:
    """The one process-wide libespeak-ng instance; use only while holding `_ESPEAK_LOCK`."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError as exc:
            raise EspeakUnavailable(
                f"cannot load libespeak-ng ({exc}); install it with `apt-get install libespeak-ng1`"
            ) from exc
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        self.sample_rate_hz = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
        if self.sample_rate_hz <= 0:
            raise EspeakUnavailable(
                "espeak_Initialize failed (espeak-ng-data not found?); install `espeak-ng-data`"
            )
        self.collector: _Collector | None = None
        # Held on self: ctypes does not keep the C function pointer alive on its own.
        self._callback = _SynthCallback(self._on_synth)
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, n_samples: int, events) -> int:
        col = self.collector
        try:
            if wav and n_samples > 0:
                col.chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                ev = events[i]
                if ev.type == _EVENT_PHONEME:
                    # string[8] is NUL-terminated only when shorter than 8 bytes
                    name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                    col.events.append((ev.sample, ev.audio_position, name))
                i += 1
        except BaseException as exc:  # an exception must not unwind through C; abort and re-raise later
            col.error = exc
            return 1
        return 0

    def check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise RuntimeError(f"{what} failed with {_ERRORS.get(rc, rc)}")


_ESPEAK_LOCK = threading.Lock()
_espeak: _Espeak | None = None


def _engine() -> _Espeak:
    global _espeak
    if _espeak is None:
        _espeak = _Espeak()
    return _espeak


@dataclass
class PhoneTimedSpeech:
    """Synthetic speech and its phone segmentation.

    audio: (N,) float32 mono in [-1, 1]; sample_rate_hz: usually 22050.
    phones: (start_s, end_s, name) in time order, tiling [0, N / sample_rate_hz] with no gaps or overlaps and
      no empty intervals; name is espeak's IPA name ("p", "aɪ", "ts", "ɑ̃"), or PAUSE for silence.
    """

    audio: np.ndarray
    sample_rate_hz: int
    phones: list[tuple[float, float, str]]
    text: str
    voice: str
    rate_wpm: int = 175
    pitch: int = 50

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate_hz


def synthesize(
    text: str, voice: str = "en", rate_wpm: int = 175, pitch: int = 50, pitch_range: int = 50, pad_s: float = 0.0,
    phoneme_input: bool = False,
) -> PhoneTimedSpeech:
    """Speak `text` (UTF-8, plain text, not SSML) with espeak-ng and return audio with phone timings.

    voice: an espeak voice name with optional variant, e.g. "en", "en-us", "en+f3", "de", "fr+m2", "es", "it".
    rate_wpm: speaking rate in words per minute, 80..450; pitch, pitch_range: 0..100 (50 is the voice's norm).
    pad_s: seconds of digital silence added at both ends (a PAUSE phone covers it).
    phoneme_input: text inside [[ ]] is read as espeak phoneme mnemonics of the voice's language, e.g.
      "[[tsh'i[55]]" with "cmn" (the mnemonics `espeak-ng -v VOICE -x` prints), not spelled out.
    Blocks other threads' calls for its duration (see module docstring).
    """
    if not text.strip():
        raise ValueError("text is empty; give at least one word to speak")
    if not _RATE_RANGE_WPM[0] <= rate_wpm <= _RATE_RANGE_WPM[1]:
        raise ValueError(f"rate_wpm={rate_wpm} is outside espeak's {_RATE_RANGE_WPM[0]}..{_RATE_RANGE_WPM[1]}")
    data = text.encode("utf-8") + b"\0"
    with _ESPEAK_LOCK:
        es = _engine()
        rc = es.lib.espeak_SetVoiceByName(voice.encode("utf-8"))
        if rc != 0:
            raise ValueError(
                f"espeak voice {voice!r} not found ({_ERRORS.get(rc, rc)}); list voices with `espeak-ng --voices` "
                "and variants with `espeak-ng --voices=variant`"
            )
        # Parameters persist between calls in the library, so every call sets all of them.
        for param, value in ((_PARAM_RATE, rate_wpm), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range),
                             (_PARAM_VOLUME, 100)):
            es.check(es.lib.espeak_SetParameter(param, int(value), 0), f"espeak_SetParameter({param})")
        flags = _CHARS_UTF8 | _ENDPAUSE | (_PHONEMES if phoneme_input else 0)
        col = es.collector = _Collector()
        try:
            rc = es.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, flags, None, None)
        finally:
            es.collector = None
        if col.error is not None:
            raise col.error
        es.check(rc, "espeak_Synth")
        sample_rate_hz = es.sample_rate_hz
    pcm = np.concatenate(col.chunks) if col.chunks else np.zeros(0, np.int16)
    audio = pcm.astype(np.float32) / 32768.0
    phones = _phone_intervals(col.events, pcm, sample_rate_hz)
    speech = PhoneTimedSpeech(audio, sample_rate_hz, phones, text, voice, rate_wpm, pitch)
    return pad(speech, pad_s) if pad_s > 0 else speech


def _phone_intervals(events: list[tuple[int, int, str]], pcm: np.ndarray, sample_rate_hz: int):
    """Phoneme events -> (start_s, end_s, name) tiling the audio: drop empty phones, merge adjacent pauses,
    and give the silence before a stop or pause to that stop or pause (see _claim_silence)."""
    n_samples = len(pcm)
    # "(en)", "(fr)": language-switch markers (a French sentence saying "whisky"), not phones
    events = [e for e in events if not (e[2].startswith("(") and e[2].endswith(")"))]
    starts = [0] + [min(sample, n_samples) for sample, _, _ in events]
    # espeak's IPA name for every pause kind (_, _:, _!, _|) is empty; audio before the first event is silence
    names = [PAUSE] + [name or PAUSE for _, _, name in events]
    if any(b < a for a, b in zip(starts, starts[1:])):
        raise RuntimeError(f"espeak phone events are not in time order: {events}")
    ends = starts[1:] + [n_samples]
    segs = [[a, b, n] for a, b, n in zip(starts, ends, names) if b > a]  # drop skipped phones, end markers
    segs = _claim_silence(segs, _silent_samples(pcm, sample_rate_hz), int(_SILENCE_WINDOW_S * sample_rate_hz))
    out: list[list] = []
    for seg in segs:
        if out and seg[2] == PAUSE and out[-1][2] == PAUSE:
            out[-1][1] = seg[1]
        else:
            out.append(seg)
    return [(a / sample_rate_hz, b / sample_rate_hz, n) for a, b, n in out]


# Closures and pauses are exact zeros in most voices but carry breath noise near -60 dBFS in some variants
# (en+f3); voiced speech, voice bars included, stays above -50 dBFS.
_SILENCE_DBFS = -50.0
_SILENCE_WINDOW_S = 0.002
_STOP_SYMBOLS = frozenset("pbtdkgɡcɟqɢʈɖ")  # affricates (tʃ, ts, pf) start with one of these


def _silent_samples(pcm: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """(N,) bool: the RMS of the `_SILENCE_WINDOW_S` window centred on each int16 sample is below -50 dBFS."""
    win = max(1, int(_SILENCE_WINDOW_S * sample_rate_hz))
    csum = np.concatenate([[0.0], np.cumsum((pcm.astype(np.float64) / 32768.0) ** 2)])
    idx = np.arange(len(pcm))
    lo = np.clip(idx - win // 2, 0, len(pcm))
    hi = np.clip(idx + win - win // 2, 0, len(pcm))
    mean_sq = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return mean_sq < 10 ** (_SILENCE_DBFS / 10)


def _claim_silence(segs: list[list], silent: np.ndarray, edge: int) -> list[list]:
    """Move the start of each stop and pause back over the silence just before it.

    espeak marks a voiceless stop (p, t, k, tʃ, ts) at its release burst, so its closure, the silent gap when
    the lips or tongue are already shut, would count as the preceding vowel; likewise a phrase-final pause is
    marked ~30 ms after the audio goes silent. segs: [start, end, name] in samples, contiguous; silent: (N,)
    bool per sample from _silent_samples; edge: samples just before a start that the smoothing window may
    mark loud because it reaches into the burst. Returns contiguous segments, those left empty removed.
    """
    for i in range(1, len(segs)):
        start, _, name = segs[i]
        if name != PAUSE and name[:1] not in _STOP_SYMBOLS or segs[i - 1][2] == PAUSE:
            continue  # silence after a pause stays pause: lips at rest, not yet closing for the stop
        prev_start = segs[i - 1][0]
        look_end = start - edge
        if look_end <= prev_start or not silent[look_end - 1]:
            continue
        loud = np.flatnonzero(~silent[prev_start:look_end])
        segs[i][0] = segs[i - 1][1] = prev_start + (int(loud[-1]) + 1 if len(loud) else 0)
    return [seg for seg in segs if seg[1] > seg[0]]


def pad(speech: PhoneTimedSpeech, pad_s: float) -> PhoneTimedSpeech:
    """Add `pad_s` seconds of zeros at both ends, extending or adding PAUSE phones to cover them."""
    n = int(round(pad_s * speech.sample_rate_hz))
    if n <= 0:
        return speech
    pad_exact_s = n / speech.sample_rate_hz
    audio = np.concatenate([np.zeros(n, np.float32), speech.audio, np.zeros(n, np.float32)])
    phones = [(a + pad_exact_s, b + pad_exact_s, p) for a, b, p in speech.phones]
    total_s = len(audio) / speech.sample_rate_hz
    if phones and phones[0][2] == PAUSE:
        phones[0] = (0.0, phones[0][1], PAUSE)
    else:
        phones.insert(0, (0.0, pad_exact_s, PAUSE))
    if phones[-1][2] == PAUSE:
        phones[-1] = (phones[-1][0], total_s, PAUSE)
    else:
        phones.append((phones[-1][1], total_s, PAUSE))
    return PhoneTimedSpeech(audio, speech.sample_rate_hz, phones, speech.text, speech.voice,
                            speech.rate_wpm, speech.pitch)


# --- phones -> visemes ------------------------------------------------------------------------------------
# Single IPA symbols by phone class. Oculus visemes encode what the lips and front teeth show, so each class
# maps to the viseme of its most visible articulation.
_SYMBOL_CLASSES: tuple[tuple[str, str, str], ...] = (
    # (class, IPA symbols, viseme)
    ("bilabial", "pbmɓʙβɸ", "PP"),  # Spanish β/ɸ: the lips nearly touch, closer to PP than to FF
    ("labiodental", "fvɱʋ", "FF"),
    ("dental fricative", "θð", "TH"),
    ("alveolar/retroflex stop, tap", "tdɾʈɖɗ", "DD"),  # a tap (es "pero", en-us "butter") looks like a d
    ("velar/uvular/glottal/palatal stop/fricative", "kɡgqɢcɟxɣχħʕhɦʔ", "kk"),
    ("postalveolar/palatal sibilant", "ʃʒɕʑçʝʂʐ", "CH"),
    ("alveolar sibilant", "sz", "SS"),
    ("nasal, lateral", "nɲɳŋɴlɫʎɭɬɮʟ", "nn"),
    ("rhotic", "rɹɻʁʀɚɝ", "RR"),  # uvular r too: a consistent label beats a per-language guess for training
    ("glide front", "j", "ih"),
    ("glide rounded", "wɥʍ", "ou"),
    ("open vowel", "aɑɐʌæɶ", "aa"),
    ("mid unrounded vowel", "eɛəɘɜɞɤ", "E"),
    ("close unrounded vowel", "iɪɨɯ", "ih"),
    ("mid rounded vowel", "oɔɒøœɵ", "oh"),
    ("close rounded vowel", "uʊʉyʏ", "ou"),
)
SYMBOL_VISEME: dict[str, str] = {s: vis for _, symbols, vis in _SYMBOL_CLASSES for s in symbols}

# Multi-symbol phones that are one gesture (affricates) and so must not be split symbol by symbol.
PHONE_VISEMES: dict[str, tuple[str, ...]] = {
    PAUSE: ("sil",),
    "tʃ": ("CH",), "dʒ": ("CH",), "tɕ": ("CH",), "dʑ": ("CH",), "ʈʂ": ("CH",),
    "ts": ("SS",), "dz": ("SS",),
    # aspirated (Mandarin q, ch, c): the puff of breath does not show on the lips
    "tɕʰ": ("CH",), "ʈʂʰ": ("CH",), "tsʰ": ("SS",),
}

# Marks that change length, stress, nasality or release but not the lip shape: skipped when decomposing.
# espeak also appends "-" to some French vowels ("ə-", "a-") in its IPA names.
_IGNORED_PUNCT = "-'.,"


class UnknownPhone(ValueError):
    """A phone name contains a symbol with no viseme in SYMBOL_VISEME / PHONE_VISEMES."""


def resolve_phone(name: str) -> tuple[tuple[str, ...], str]:
    """Map one phone name to its viseme sequence and say how.

    Returns (visemes, how): visemes are VISEME_NAMES entries in time order (a diphthong "aɪ" gives ("aa", "ih"),
    the phone's interval is shared equally among them); how is "exact" (PHONE_VISEMES), "class" (each symbol
    looked up by its phone class in SYMBOL_VISEME, diacritics and length marks skipped) or "unknown" (some
    symbol has no class; the known symbols are kept, or ("E",), a half-open mouth, when none is known).
    """
    if name in PHONE_VISEMES:
        return PHONE_VISEMES[name], "exact"
    out: list[str] = []
    unknown = False
    for ch in unicodedata.normalize("NFC", name):  # NFC: "ç" is a symbol of its own, not c + cedilla
        if ch in _IGNORED_PUNCT or unicodedata.category(ch) in ("Mn", "Lm", "Sk"):
            continue
        # a precomposed letter with a diacritic ("ẽ") counts as its base letter
        vis = SYMBOL_VISEME.get(ch) or SYMBOL_VISEME.get(unicodedata.normalize("NFD", ch)[0])
        if vis is None:
            unknown = True
        elif not out or out[-1] != vis:  # "ss", "eə": one gesture, not two
            out.append(vis)
    if unknown:
        return tuple(out) or ("E",), "unknown"
    return (tuple(out) or ("sil",)), "class"


def phone_visemes(name: str, strict: bool = True) -> tuple[str, ...]:
    """Viseme sequence of one phone; raises UnknownPhone for unmapped symbols unless strict is False."""
    visemes, how = resolve_phone(name)
    if how == "unknown" and strict:
        raise UnknownPhone(
            f"phone {name!r} has a symbol with no viseme; add it to SYMBOL_VISEME's classes or PHONE_VISEMES "
            "in speechdata.py, or pass strict=False to accept the fallback " + repr(visemes)
        )
    return visemes


def viseme_segments(phones: list[tuple[float, float, str]], strict: bool = True) -> list[tuple[float, float, int]]:
    """(start_s, end_s, phone) -> (start_s, end_s, viseme index) with multi-viseme phones split evenly."""
    out: list[tuple[float, float, int]] = []
    for start_s, end_s, name in phones:
        visemes = phone_visemes(name, strict)
        step_s = (end_s - start_s) / len(visemes)
        for i, vis in enumerate(visemes):
            out.append((start_s + i * step_s, start_s + (i + 1) * step_s, _VISEME_INDEX[vis]))
    return out


_VISEME_INDEX = {name: i for i, name in enumerate(VISEME_NAMES)}


def viseme_track(speech: PhoneTimedSpeech, frame_rate_hz: float = 100, strict: bool = True) -> np.ndarray:
    """Per-frame viseme targets: (T, 15) float32 over VISEME_NAMES, T = ceil(duration_s * frame_rate_hz).

    Row t covers [t / frame_rate_hz, (t + 1) / frame_rate_hz) and holds the fraction of that span spent in each
    viseme: one-hot inside a phone, mixed in frames a boundary crosses; every row sums to 1 (time past the end
    of the audio counts as sil). strict: see phone_visemes.
    """
    n_frames = int(np.ceil(speech.duration_s * frame_rate_hz - 1e-9))
    edges_s = np.arange(n_frames + 1) / frame_rate_hz
    segments = viseme_segments(speech.phones, strict)
    track = np.zeros((n_frames, len(VISEME_NAMES)), np.float64)
    if segments:
        starts = np.array([s[0] for s in segments])
        ends = np.array([s[1] for s in segments])
        which = np.array([s[2] for s in segments])
        # Time spent in viseme k before t is piecewise linear in t: integrate it at the frame edges and
        # difference, which is exact box-filter averaging with one np.interp per viseme.
        knots = np.concatenate([starts, ends[-1:]])
        for k in np.unique(which):
            dur = np.where(which == k, ends - starts, 0.0)
            cum = np.concatenate([[0.0], np.cumsum(dur)])
            track[:, k] = np.diff(np.interp(edges_s, knots, cum)) * frame_rate_hz
    track[:, _VISEME_INDEX["sil"]] += 1.0 - track.sum(axis=1)  # the tail past the audio's end
    return np.clip(track, 0.0, 1.0).astype(np.float32)  # differences of equal sums leave ~1e-16 negatives
