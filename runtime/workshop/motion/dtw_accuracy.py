"""How well `dtw_align.transfer_boundaries` places phone boundaries, measured on real English with known timings.

`python -m facecast.runtime.workshop.motion.dtw_accuracy` synthesizes each transcript in evaldata/{cmu_arctic,
parselmouth,librispeech_commonvoice,cmu} with espeak-ng "en-us", moves espeak's phone boundaries onto the
recording by DTW and compares them with the recording's reference alignments:
- "pocketsphinx": NAME.phone.json, every file (automatic; its own error against hand labels is ~10 ms median,
  see evaldata/parselmouth/README.md, and larger at word edges: it often stretches a final stop or a leading
  phone into the silence next to it);
- independent ones where a package shipped them: the hand-labelled `*.hand.TextGrid` (parselmouth), the HTS
  labels `*.hts.lab` (cmu_arctic), and with --mfa MFA's own `*.mfa.TextGrid` (evaldata/mfa).
A boundary is compared where the phones on both of its sides correspond in both labelings (same visemes, paired
in order by a minimum edit-distance alignment); pauses count as phones, so speech onsets and offsets count.
Kinds: "onset" (silence -> speech), "offset" (speech -> silence), "cv" (consonant -> vowel, the boundary
between a Mandarin initial and final), "phone" (any other). Baseline: espeak's timing stretched linearly over
the whole recording. It also tries the landmarks.py detectors that mandarin.py anchors the warp with on the
English consonant -> vowel boundaries (landmark_errors), next to the warp at the same boundaries. The figures
are quoted in evaldata/mandarin_gcin/README.md; the run takes a few seconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dtw_align, speechdata as sd

EVALDATA = Path(__file__).with_name("evaldata")
ENGLISH_FOLDERS = ("cmu_arctic", "parselmouth", "librispeech_commonvoice", "cmu")
VOWEL_VISEMES = frozenset({"aa", "E", "ih", "oh", "ou"})
Phones = list[tuple[float, float, str]]


@dataclass
class BoundaryError:
    """One boundary both labelings share: where the reference puts it, where DTW transfer puts it, and where
    espeak's own time stretched linearly over the recording puts it."""

    file: str
    source: str
    kind: str
    truth_s: float
    dtw_s: float
    linear_s: float


def merge_pauses(phones: Phones) -> Phones:
    """Adjacent PAUSE intervals (pocketsphinx's SIL next to an unaligned gap) joined into one."""
    out: Phones = []
    for start, end, name in phones:
        if out and name == sd.PAUSE and out[-1][2] == sd.PAUSE:
            out[-1] = (out[-1][0], end, name)
        else:
            out.append((start, end, name))
    return out


def _label_phone(label: str) -> str:
    """A phone label from a TextGrid or HTS file (ARPAbet with or without stress, IPA, or a silence mark)."""
    label = label.strip()
    if label.lower() in ("", "sil", "sp", "spn", "pau", "<sil>"):
        return sd.PAUSE
    try:
        return sd.arpabet_phone(label)
    except ValueError:
        return label


def textgrid_phones(path: Path, tier: str = "phon") -> Phones:
    """The first interval tier whose name contains `tier` (case-insensitive) of a Praat TextGrid, long or short
    text format: bracketed indices dropped, the rest read as a stream of numbers and quoted strings."""
    text = re.sub(r"\[\d*\]", "", path.read_text(encoding="utf-8"))
    tokens = [m.group(1) if m.group(1) is not None else float(m.group(2))
              for m in re.finditer(r'"((?:[^"]|"")*)"|(?<![\w.])(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)(?![\w.])', text)]
    k = tokens.index("IntervalTier") if "IntervalTier" in tokens else len(tokens)
    while k < len(tokens):
        kind, name, count = tokens[k], tokens[k + 1], int(tokens[k + 4])
        body = tokens[k + 5: k + 5 + (3 if kind == "IntervalTier" else 2) * count]
        if kind == "IntervalTier" and tier in str(name).lower():
            triples = zip(body[0::3], body[1::3], body[2::3])
            return merge_pauses([(float(a), float(b), _label_phone(t)) for a, b, t in triples if b > a])
        k += 5 + len(body)
    raise ValueError(f"{path}: no interval tier named like {tier!r}")


def hts_phones(path: Path) -> Phones:
    """HTS full-context labels ("start end x^y-PHONE+z=...", times in 100 ns) -> phones."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            start, end, context = line.split(None, 2)
            name = context.split("-", 1)[1].split("+", 1)[0]
            out.append((int(start) * 1e-7, int(end) * 1e-7, _label_phone(name)))
    return merge_pauses(out)


def references(folders: tuple[str, ...] = ENGLISH_FOLDERS) -> list[tuple[Path, str, Phones]]:
    """(wav, source, phones) for every reference alignment of every recording in the folders."""
    import soundfile as sf

    from .realspeech import alignment_phones

    out = []
    for folder in folders:
        for wav in sorted((EVALDATA / folder).glob("*.wav")):
            duration_s = sf.info(wav).frames / dtw_align.SAMPLE_RATE_HZ
            aligned = wav.with_suffix(".phone.json")
            if aligned.exists():
                out.append((wav, "pocketsphinx",
                            merge_pauses(alignment_phones(json.loads(aligned.read_text()), duration_s))))
            for suffix, source in ((".hand.TextGrid", "hand"), (".mfa.TextGrid", "mfa")):
                if wav.with_suffix(suffix).exists():
                    out.append((wav, source, textgrid_phones(wav.with_suffix(suffix))))
            if wav.with_suffix(".hts.lab").exists():
                out.append((wav, "hts", hts_phones(wav.with_suffix(".hts.lab"))))
    return out


def _visemes(name: str) -> tuple[str, ...]:
    return sd.phone_visemes(name, strict=False)


def match_phones(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of a minimum edit-distance alignment of two phone-name sequences at which the phones
    have the same visemes (insertion, deletion and substitution cost 1, a viseme-equal pair 0)."""
    ka, kb = [_visemes(x) for x in a], [_visemes(x) for x in b]
    n, m = len(a), len(b)
    d = np.zeros((n + 1, m + 1))
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ka[i - 1] != kb[j - 1]))
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        same = ka[i - 1] == kb[j - 1]
        if d[i, j] == d[i - 1, j - 1] + (not same):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def boundary_kind(left: str, right: str) -> str:
    if left == sd.PAUSE:
        return "onset"
    if right == sd.PAUSE:
        return "offset"
    if _visemes(right)[0] in VOWEL_VISEMES and _visemes(left)[-1] not in VOWEL_VISEMES:
        return "cv"
    return "phone"


def shared_boundaries(synth: Phones, moved_s: list[float], truth: Phones) -> list[tuple[str, float, float, float]]:
    """(kind, truth_s, moved_s, synth_s) for every boundary between two consecutive synth phones that match two
    consecutive reference phones; moved_s[k] is where synth's boundary k (end of phone k) landed."""
    names_s, names_t = [p[2] for p in synth], [p[2] for p in truth]
    pairs = match_phones(names_s, names_t)
    return [(boundary_kind(names_s[i0], names_s[i1]), truth[j1][0], moved_s[i0], synth[i0][1])
            for (i0, j0), (i1, j1) in zip(pairs, pairs[1:]) if i1 == i0 + 1 and j1 == j0 + 1]


def boundary_errors(folders: tuple[str, ...] = ENGLISH_FOLDERS, voice: str = "en-us") -> list[BoundaryError]:
    """Every shared boundary of every reference alignment in the folders (see the module docstring)."""
    import soundfile as sf

    out = []
    moved_cache: dict[Path, tuple[sd.PhoneTimedSpeech, list[float], float]] = {}
    for wav, source, truth in references(folders):
        if wav not in moved_cache:
            audio, _ = sf.read(wav, dtype="float32")
            synth = sd.synthesize(wav.with_suffix(".txt").read_text().strip(), voice, pad_s=0.1)
            moved_cache[wav] = (synth, dtw_align.transfer_boundaries(audio, synth), len(audio) / synth.duration_s
                                / dtw_align.SAMPLE_RATE_HZ)
        synth, moved, scale = moved_cache[wav]
        name = f"{wav.parent.name}/{wav.stem}"
        for kind, truth_s, moved_s, synth_s in shared_boundaries(synth.phones, moved, truth):
            out.append(BoundaryError(name, source, kind, truth_s, moved_s, synth_s * scale))
    return out


def summary(errors: list[BoundaryError]) -> dict[str, dict[str, float]]:
    """Per kind and for "all": n, median and 90th percentile of |error| in ms (DTW and linear stretch), and
    the share of DTW errors within 20 ms."""
    out = {}
    for kind in ("onset", "offset", "cv", "phone", "all"):
        sel = [e for e in errors if kind in ("all", e.kind)]
        if not sel:
            continue
        dtw = np.abs([e.dtw_s - e.truth_s for e in sel]) * 1000
        lin = np.abs([e.linear_s - e.truth_s for e in sel]) * 1000
        out[kind] = {"n": len(sel), "median_ms": float(np.median(dtw)), "p90_ms": float(np.percentile(dtw, 90)),
                     "within_20ms": float(np.mean(dtw <= 20)), "linear_median_ms": float(np.median(lin)),
                     "linear_p90_ms": float(np.percentile(lin, 90))}
    return out


# consonants before a vowel whose end landmarks.voicing_onset finds, and those landmarks.sonorant_release finds
VOICELESS = frozenset({"p", "t", "k", "f", "θ", "s", "ʃ", "h", "tʃ"})
SONORANTS = frozenset({"m", "n", "l", "ɹ"})


@dataclass
class Landmark:
    """One consonant -> vowel boundary of a reference alignment and where a landmarks.py detector put it."""

    file: str
    source: str
    kind: str  # "voicing" (voiceless consonant) or "release" (m n l r)
    truth_s: float
    found_s: float


def landmark_errors(folders: tuple[str, ...] = ENGLISH_FOLDERS) -> list[Landmark]:
    """The landmarks mandarin.py anchors its warp with, tried on English: for every reference boundary from a
    syllable-initial consonant (after a pause or a vowel) to a vowel, the detector searches [consonant start +
    GUARD_S, vowel end - GUARD_S], as mandarin.align_syllable searches a syllable."""
    import soundfile as sf

    from . import landmarks

    out = []
    for wav, source, truth in references(folders):
        audio, _ = sf.read(wav, dtype="float32")
        mel = dtw_align.mel_5ms(audio)
        for k in range(1, len(truth) - 1):
            (c0, _, cons), (v0, v1, vowel) = truth[k], truth[k + 1]
            before = _visemes(truth[k - 1][2])[-1]
            if _visemes(vowel)[0] not in VOWEL_VISEMES or (before not in VOWEL_VISEMES and before != "sil"):
                continue
            start_s, end_s = c0 + landmarks.GUARD_S, v1 - landmarks.GUARD_S
            if cons in VOICELESS:
                kind, found = "voicing", landmarks.voicing_onset(audio, mel, start_s, end_s)
            elif cons in SONORANTS:
                front = _visemes(vowel)[0] == "ih"
                kind, found = "release", landmarks.sonorant_release(mel, start_s, end_s, front)
            else:
                continue
            if found is not None:
                out.append(Landmark(f"{wav.parent.name}/{wav.stem}", source, kind, v0, found))
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="measure DTW boundary transfer against reference alignments")
    p.add_argument("--voice", default="en-us", help="espeak-ng voice for the synthetic side")
    p.add_argument("--mfa", action="store_true", help="also the 27 MFA recordings (evaldata/mfa)")
    p.add_argument("--per-file", action="store_true", help="median |error| per recording and reference")
    args = p.parse_args(argv)
    errors = boundary_errors(ENGLISH_FOLDERS + (("mfa",) if args.mfa else ()), args.voice)
    if args.per_file:
        for f, src in sorted({(e.file, e.source) for e in errors}):
            d = np.abs([e.dtw_s - e.truth_s for e in errors if (e.file, e.source) == (f, src)]) * 1000
            print(f"{f:50s} {src:12s} n={len(d):3d} median {np.median(d):5.1f} ms, max {d.max():6.1f} ms")
    landmarks = landmark_errors(ENGLISH_FOLDERS + (("mfa",) if args.mfa else ()))
    for source in sorted({e.source for e in errors}):
        sel = [e for e in errors if e.source == source]
        print(f"against {source} ({len({e.file for e in sel})} recordings):")
        for kind, s in summary(sel).items():
            print(f"  {kind:6s} n={s['n']:4d}  |DTW - ref| median {s['median_ms']:5.1f} ms, p90 {s['p90_ms']:6.1f} ms, "
                  f"{100 * s['within_20ms']:3.0f}% <= 20 ms   (linear stretch: median {s['linear_median_ms']:5.1f} ms,"
                  f" p90 {s['linear_p90_ms']:6.1f} ms)")
        # the same boundaries as placed by the warp, where it placed them (both sides matched)
        warped = {(e.file, round(e.truth_s, 4)): e.dtw_s for e in sel}
        for kind in ("voicing", "release"):
            pairs = [(e.found_s - e.truth_s, warped[key] - e.truth_s) for e in landmarks
                     if e.source == source and e.kind == kind for key in [(e.file, round(e.truth_s, 4))]
                     if key in warped]
            if pairs:
                d = np.abs(pairs) * 1000
                print(f"  {kind:7s}  n={len(d):4d}  |detector - ref| median {np.median(d[:, 0]):5.1f} ms, p90 "
                      f"{np.percentile(d[:, 0], 90):6.1f} ms;  the warp at the same boundaries: median "
                      f"{np.median(d[:, 1]):5.1f} ms, p90 {np.percentile(d[:, 1], 90):6.1f} ms")


if __name__ == "__main__":
    main()
