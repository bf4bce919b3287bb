"""Mandarin syllables: numbered pinyin -> IPA phones, and phone timings for the real recordings in
evaldata/mandarin_gcin.

`pinyin_phones("zhuang1") -> ["ʈʂ", "w", "ɑ", "ŋ"]`: the initial, then the final's glide, vowel(s) and coda, in
IPA names `speechdata.phone_visemes(name, strict=True)` maps (b p m -> PP; zh ch sh r -> CH; j q x -> CH;
z c s -> SS; the apical vowel of zi/ci/si and zhi/chi/shi/ri is written "ɨ", a close unrounded vowel like its
lips; ü is "y", its glide "ɥ").

No Mandarin forced aligner installs offline, so `align_syllable(audio, "ma3")` borrows the phones' order and
rough timing from espeak-ng and pins the edges on acoustic landmarks: espeak speaks the syllable with its "cmn"
voice from phoneme mnemonics (its pinyin spelling rules read ci, ri, xue, qiong, an... with English rules), the
rendering is warped onto the recording (dtw_align), speech onset and offset widen to the loud stretch, and the
initial|final boundary moves to the voicing onset after a voiceless initial or the release of m n l r
(landmarks.py); a second warp between those anchors places the rest (nasal codas). Where one espeak phone
stands for several of ours (its diphthong "iAu" = j ɑ ʊ) the span is shared by fixed weights, glides and
off-glides shorter than the nucleus. Silence before and after is speechdata.PAUSE. Accuracy, measured on
English recordings with reference timings (dtw_accuracy.py), and by eye: evaldata/mandarin_gcin/README.md.

`python -m facecast.runtime.workshop.motion.mandarin evaldata/mandarin_gcin/*.wav` (re)writes NAME.phones.json
next to each WAV: {"text": "ma3", "method": ..., "phones": [[start_s, end_s, ipa], ...]} tiling the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dtw_align, landmarks, speechdata as sd
from .realspeech import phones_record
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ


# pinyin initial -> (IPA, espeak "cmn" mnemonic)
INITIALS: dict[str, tuple[str, str]] = {
    "b": ("p", "p"), "p": ("pʰ", "ph"), "m": ("m", "m"), "f": ("f", "f"),
    "d": ("t", "t"), "t": ("tʰ", "th"), "n": ("n", "n"), "l": ("l", "l"),
    "g": ("k", "k"), "k": ("kʰ", "kh"), "h": ("x", "x"),
    "j": ("tɕ", "tS;"), "q": ("tɕʰ", "tS;h"), "x": ("ɕ", "S;"),
    "zh": ("ʈʂ", "ts."), "ch": ("ʈʂʰ", "ts.h"), "sh": ("ʂ", "s."), "r": ("ʐ", "z."),
    "z": ("ts", "ts"), "c": ("tsʰ", "tsh"), "s": ("s", "s"),
}
# final (spelled as after a consonant, ü written ü) -> groups of (espeak mnemonic, IPA parts it stands for);
# the first group carries the tone, later groups are codas espeak voices as phones of their own.
FINALS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "a": (("A", ("a",)),), "o": (("o-", ("o",)),), "e": (("@", ("ɤ",)),), "ê": (("E", ("ɛ",)),),
    "ai": (("ai", ("a", "ɪ")),), "ei": (("ei", ("e", "ɪ")),), "ao": (("Au", ("ɑ", "ʊ")),),
    "ou": (("ou", ("o", "ʊ")),),
    "an": (("a", ("a",)), ("n", ("n",))), "en": (("@", ("ə",)), ("n", ("n",))),
    "ang": (("A", ("ɑ",)), ("N", ("ŋ",))), "eng": (("@", ("ə",)), ("N", ("ŋ",))),
    "ong": (("ong", ("ʊ", "ŋ")),), "er": (("@r", ("ɚ",)),),
    "i": (("i", ("i",)),), "ia": (("iA", ("j", "a")),), "ie": (("iE", ("j", "ɛ")),),
    "iao": (("iAu", ("j", "ɑ", "ʊ")),), "iu": (("iou", ("j", "o", "ʊ")),),
    "ian": (("iE", ("j", "ɛ")), ("n", ("n",))), "in": (("i", ("i",)), ("n", ("n",))),
    "iang": (("iA", ("j", "ɑ")), ("N", ("ŋ",))), "ing": (("i", ("i",)), ("N", ("ŋ",))),
    "iong": (("io", ("j", "ʊ")), ("N", ("ŋ",))),
    "u": (("u", ("u",)),), "ua": (("uA", ("w", "a")),), "uo": (("uo", ("w", "o")),),
    "uai": (("uai", ("w", "a", "ɪ")),), "ui": (("uei", ("w", "e", "ɪ")),),
    "uan": (("ua", ("w", "a")), ("n", ("n",))), "un": (("u@", ("w", "ə")), ("n", ("n",))),
    "uang": (("uA", ("w", "ɑ")), ("N", ("ŋ",))), "ueng": (("u@", ("w", "ə")), ("N", ("ŋ",))),
    "ü": (("y", ("y",)),), "üe": (("yE", ("ɥ", "ɛ")),),
    "üan": (("y&", ("ɥ", "ɛ")), ("n", ("n",))), "ün": (("y", ("y",)), ("n", ("n",))),
}
# the apical vowel ("-i") after z c s (espeak "i[") and after zh ch sh r (espeak "i.")
APICAL = {"dental": (("i[", ("ɨ",)),), "retroflex": (("i.", ("ɨ",)),)}
# espeak's tone contours (Chao numbers) for tones 1-4 and the neutral tone 5
TONES = {1: "55", 2: "35", 3: "214", 4: "51", 5: "11"}
GLIDES = frozenset({"j", "w", "ɥ"})
FRONT_CLOSE = frozenset({"i", "y", "j", "ɥ"})  # see landmarks.sonorant_release
# share of a multi-part espeak phone: a glide or an off-glide takes less time than the nucleus
GLIDE_WEIGHT = 0.5
OFFGLIDE_WEIGHT = 0.7
EDGE_PAUSE_S = 0.03  # silence kept around espeak's syllable: the recordings are cut tight
MIN_STOP_S = 0.02  # shortest initial: a stop's release is a few ms, but the lips are set before it
VOICELESS_INITIALS = frozenset({"b", "p", "d", "t", "g", "k", "f", "h", "j", "q", "x", "zh", "ch", "sh", "z", "c",
                                "s"})
METHOD = ("espeak-ng cmn rendering (phoneme mnemonics) DTW-warped onto the recording (dtw_align); speech edges "
          "widened to the loud stretch and the initial|final boundary set at the voicing onset or sonorant release "
          "(landmarks), the rest re-warped between these anchors; multi-part espeak phones split by fixed weights")


class BadSyllable(ValueError):
    """Not a Mandarin syllable in numbered pinyin."""


def parse(syllable: str) -> tuple[str, str, int]:
    """"zhuang1" -> (initial, final, tone): initial "" for none; y-/w- spellings undone ("yue" -> ("", "üe"));
    ü after j q x written as in pinyin ("xue" -> ("x", "üe")); tone 1-5 (5 neutral; no digit counts as 5)."""
    text = syllable.strip().lower().replace("u:", "ü").replace("v", "ü")
    m = re.fullmatch(r"([a-zü]+|ê)([1-5]?)", text)
    if not m:
        raise BadSyllable(f"{syllable!r} is not numbered pinyin like 'ma3', 'lv4', 'zhuang1'")
    body, tone = m.group(1), int(m.group(2) or 5)
    initial = next((i for i in ("zh", "ch", "sh") if body.startswith(i)), "")
    if not initial and body[0] in INITIALS:
        initial = body[0]
    final = body[len(initial):]
    if not initial and body[0] in "yw":
        final = _undo_glide_spelling(body)
    elif initial in ("j", "q", "x") and final.startswith("u"):
        final = "ü" + final[1:]
    if final not in FINALS and not (final == "i" and initial in ("z", "c", "s", "zh", "ch", "sh", "r")):
        raise BadSyllable(f"{syllable!r}: unknown final {final!r} (initial {initial!r})")
    return initial, final, tone


def _undo_glide_spelling(body: str) -> str:
    """y-/w- syllables to the final they spell: yi -> i, ying -> ing, yu -> ü, yue -> üe, ya -> ia, you -> iu,
    wu -> u, wei -> ui, wen -> un, wo -> uo."""
    if body.startswith("yu"):
        return "ü" + body[2:]
    if body.startswith("yi"):
        return body[1:]
    if body.startswith("wu"):
        return body[1:]
    final = ("i" if body[0] == "y" else "u") + body[1:]
    return {"iou": "iu", "uei": "ui", "uen": "un"}.get(final, final)


def syllable_groups(syllable: str) -> tuple[list[tuple[str, tuple[str, ...]]], int]:
    """([(espeak mnemonic, IPA parts), ...] for the initial (if any) and the final's groups, tone)."""
    initial, final, tone = parse(syllable)
    if final == "i" and initial in ("z", "c", "s"):
        groups = APICAL["dental"]
    elif final == "i" and initial in ("zh", "ch", "sh", "r"):
        groups = APICAL["retroflex"]
    else:
        groups = FINALS[final]
    head = [(INITIALS[initial][1], (INITIALS[initial][0],))] if initial else []
    return head + list(groups), tone


def pinyin_phones(syllable: str) -> list[str]:
    """Numbered pinyin ("ma3", "lv4", "zhuang1", "er2") -> IPA phone names in time order."""
    groups, _ = syllable_groups(syllable)
    return [part for _, parts in groups for part in parts]


def espeak_phonemes(syllable: str) -> str:
    """The syllable as espeak-ng "cmn" phoneme input: "zhuang1" -> "[[ts.'uA55N]]" (stress mark before the
    final, tone digits after its first group)."""
    groups, tone = syllable_groups(syllable)
    initial, _ = parse(syllable)[:2]
    head = groups[0][0] if initial else ""
    final = groups[1:] if initial else groups
    return f"[[{head}'{final[0][0]}{TONES[tone]}{''.join(g for g, _ in final[1:])}]]"


def _split(start_s: float, end_s: float, parts: tuple[str, ...]) -> list[tuple[float, float, str]]:
    """Share [start_s, end_s] among parts by weight: leading glide GLIDE_WEIGHT, trailing off-glide
    OFFGLIDE_WEIGHT (the ɪ/ʊ of ai, ao, ...), the rest 1."""
    weights = [GLIDE_WEIGHT if p in GLIDES and k == 0 else
               OFFGLIDE_WEIGHT if k == len(parts) - 1 and len(parts) > 1 and p in ("ɪ", "ʊ") else 1.0
               for k, p in enumerate(parts)]
    edges = start_s + (end_s - start_s) * np.concatenate([[0.0], np.cumsum(weights)]) / sum(weights)
    return [(float(a), float(b), p) for a, b, p in zip(edges, edges[1:], parts)]


def synthesize_syllable(syllable: str, edge_s: float = EDGE_PAUSE_S) -> sd.PhoneTimedSpeech:
    """espeak-ng's rendering of the syllable with edge_s of silence before and after; raises RuntimeError if its
    phones do not line up one to one with syllable_groups (pauses aside)."""
    groups, _ = syllable_groups(syllable)
    synth = sd.synthesize(espeak_phonemes(syllable), "cmn", pad_s=edge_s, phoneme_input=True)
    synth = dtw_align.trim_edge_pauses(synth, edge_s)
    spoken = [p for p in synth.phones if p[2] != sd.PAUSE]
    if len(spoken) != len(groups):
        raise RuntimeError(f"espeak-ng spoke {syllable!r} as {[p[2] for p in spoken]}, expected one phone per "
                           f"group of {[g for g, _ in groups]}")
    return synth


@dataclass
class SyllableTiming:
    """What align_syllable found in one recording. Times in seconds on the recording's axis.

    phones: (start_s, end_s, IPA or PAUSE) tiling the recording.
    warped: the boundaries [speech onset, start of each espeak phone after the first, speech offset] from
      warping espeak's rendering onto the whole recording with no anchors (step 1).
    energy: (onset_s, offset_s) of the loud stretch, or None (step 2).
    voicing_s: the initial|final landmark (step 3), None for no initial or when not found.
    bounds: the same boundaries as `warped`, final (step 4).
    voiceless: the initial is voiceless (voicing_s is a voicing onset, not a release)."""

    phones: list[tuple[float, float, str]]
    warped: list[float]
    energy: tuple[float, float] | None
    voicing_s: float | None
    bounds: list[float]
    voiceless: bool = False


def align_syllable(audio: np.ndarray, syllable: str, noise_db: float | None = None) -> SyllableTiming:
    """Phone timing of a (N,) float32 16 kHz recording of one syllable.

    noise_db: the recordings' quiet level (landmarks.quiet_level_db; default this file's own). Steps: (1) warp
    espeak's rendering onto the whole recording; (2) the speech span is the union of the warped one and the
    loud stretch (landmarks.energy_span): the warp alone ends too early on the long decaying tails of isolated
    syllables and starts late on a quiet nasal murmur, the level alone misses a weak f; (3) the initial|final
    boundary is the voicing onset after a voiceless initial, the release after m n l r (landmarks.py); (4) the
    warp is redone between these anchors and places the rest (a nasal coda's start); an initial shorter than
    MIN_STOP_S starts earlier to get it."""
    groups, _ = syllable_groups(syllable)
    synth = synthesize_syllable(syllable)
    spoken = [k for k, p in enumerate(synth.phones) if p[2] != sd.PAUSE]
    # synthetic times whose images we want: each spoken phone's start, then the end of the last
    times = [synth.phones[k][0] for k in spoken] + [synth.phones[spoken[-1]][1]]
    duration_s = len(audio) / SAMPLE_RATE_HZ
    mel = dtw_align.mel_5ms(audio)
    warped = dtw_align.transfer_boundaries(audio, synth, times)
    onset_s, offset_s = warped[0], warped[-1]
    energy = landmarks.energy_span(mel, landmarks.quiet_level_db(audio) if noise_db is None else noise_db)
    if energy:
        onset_s, offset_s = min(onset_s, energy[0]), min(duration_s, max(offset_s, energy[1]))
    anchors = [(times[0], onset_s), (times[-1], offset_s)]
    initial = parse(syllable)[0]
    voicing_s = None
    if initial in VOICELESS_INITIALS:
        voicing_s = landmarks.voicing_onset(audio, mel, onset_s + landmarks.GUARD_S, offset_s - landmarks.GUARD_S)
    elif initial:
        front = groups[1][1][0] in FRONT_CLOSE
        voicing_s = landmarks.sonorant_release(mel, onset_s + landmarks.GUARD_S, offset_s - landmarks.GUARD_S,
                                              front)
    if voicing_s is not None:
        anchors.insert(1, (times[1], voicing_s))
    bounds = dtw_align.transfer_boundaries(audio, synth, times, anchors)
    if initial and bounds[1] - bounds[0] < MIN_STOP_S:
        bounds[0] = max(0.0, bounds[1] - MIN_STOP_S)
    phones: list[tuple[float, float, str]] = []
    if bounds[0] > 0:
        phones.append((0.0, bounds[0], sd.PAUSE))
    for (_, parts), a, b in zip(groups, bounds, bounds[1:]):
        if b > a:
            phones.extend(_split(a, b, parts))
    if bounds[-1] < duration_s:
        phones.append((bounds[-1], duration_s, sd.PAUSE))
    return SyllableTiming(phones, warped, energy, voicing_s, bounds, initial in VOICELESS_INITIALS)


def read_recording(wav: Path) -> np.ndarray:
    """(N,) float32 samples of a 16 kHz mono WAV; ValueError for any other format."""
    import soundfile as sf

    audio, rate_hz = sf.read(wav, dtype="float32")
    if rate_hz != SAMPLE_RATE_HZ or audio.ndim != 1:
        raise ValueError(f"{wav}: expected 16 kHz mono, got {rate_hz} Hz, shape {audio.shape}")
    return audio


def timing_record(timing: SyllableTiming, text: str, duration_s: float) -> dict:
    """The NAME.phones.json content (realspeech.phones_record)."""
    return phones_record(timing.phones, text, METHOD, duration_s)


def agreement(timings: list[SyllableTiming]) -> dict[str, tuple[int, float, float]]:
    """How far the unanchored warp (step 1) was from the final boundaries, per boundary kind:
    {kind: (n, median ms, 90th percentile ms)} of |warped - final|. With no reference timing for these
    recordings, this is the check that the two kinds of evidence mostly agree and how far apart they are."""
    diffs: dict[str, list[float]] = {"onset": [], "offset": [], "voicing": [], "release": []}
    for t in timings:
        diffs["onset"].append(t.warped[0] - t.bounds[0])
        diffs["offset"].append(t.warped[-1] - t.bounds[-1])
        if t.voicing_s is not None and len(t.bounds) > 2:
            diffs["voicing" if t.voiceless else "release"].append(t.warped[1] - t.voicing_s)
    return {kind: (len(d), float(np.median(np.abs(d)) * 1000), float(np.percentile(np.abs(d), 90) * 1000))
            for kind, d in diffs.items() if d}


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="write NAME.phones.json next to recordings of single Mandarin syllables "
                                            "(NAME.txt: numbered pinyin); give all of a corpus' files at once, "
                                            "their median quiet level is the noise estimate")
    p.add_argument("wavs", nargs="+", type=Path)
    wavs = p.parse_args(argv).wavs
    audios = [read_recording(wav) for wav in wavs]
    noise_db = float(np.median([landmarks.quiet_level_db(a) for a in audios]))
    print(f"quiet level (median of {len(wavs)} files): {noise_db:.1f} dB")
    timings = []
    for wav, audio in zip(wavs, audios):
        text = wav.with_suffix(".txt").read_text().strip()
        timing = align_syllable(audio, text, noise_db)
        timings.append(timing)
        record = timing_record(timing, text, len(audio) / SAMPLE_RATE_HZ)
        out = wav.with_name(wav.name.removesuffix(".wav") + ".phones.json")
        out.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        print(wav.name, " ".join(f"{name}@{start:.3f}" for start, _, name in record["phones"]))
    for kind, (n, median_ms, p90_ms) in agreement(timings).items():
        print(f"unanchored warp vs final {kind:8s} n={n:4d}  |difference| median {median_ms:5.1f} ms, "
              f"p90 {p90_ms:5.1f} ms")


if __name__ == "__main__":
    main()
