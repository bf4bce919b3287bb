"""Tests for the Mandarin phone timings: the pinyin -> IPA table (mandarin.py), the DTW boundary transfer
(dtw_align.py), the acoustic landmarks (landmarks.py) and the evaldata/mandarin_gcin/NAME.phones.json files.

How accurate the timings are is measured, not tested: `python -m facecast.runtime.workshop.motion.dtw_accuracy`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facecast.runtime.workshop.motion import dtw_accuracy, dtw_align, landmarks, mandarin
from facecast.runtime.workshop.motion import speechdata as sd

GCIN = Path(mandarin.__file__).with_name("evaldata") / "mandarin_gcin"
RATE = 16000


def visemes(syllable: str) -> list[str]:
    return [v for name in mandarin.pinyin_phones(syllable) for v in sd.phone_visemes(name, strict=True)]


@pytest.mark.parametrize("syllable, expected", [
    ("ba1", ["PP", "aa"]), ("ma3", ["PP", "aa"]), ("pa4", ["PP", "aa"]), ("fa2", ["FF", "aa"]),
    ("shi4", ["CH", "ih"]), ("zhi1", ["CH", "ih"]), ("chi1", ["CH", "ih"]), ("ri4", ["CH", "ih"]),
    ("ci2", ["SS", "ih"]), ("zi3", ["SS", "ih"]), ("si1", ["SS", "ih"]),
    ("ji1", ["CH", "ih"]), ("qi4", ["CH", "ih"]), ("xi1", ["CH", "ih"]),
    ("xue2", ["CH", "ou", "E"]), ("lv4", ["nn", "ou"]), ("lü4", ["nn", "ou"]), ("nve4", ["nn", "ou", "E"]),
    ("ju4", ["CH", "ou"]), ("qu4", ["CH", "ou"]), ("xun2", ["CH", "ou", "nn"]), ("juan1", ["CH", "ou", "E", "nn"]),
    ("er2", ["RR"]), ("zhuang1", ["CH", "ou", "aa", "nn"]), ("yue4", ["ou", "E"]), ("yu2", ["ou"]),
    ("wo3", ["ou", "oh"]), ("wu3", ["ou"]), ("wei4", ["ou", "E", "ih"]), ("ang2", ["aa", "nn"]),
    ("yi1", ["ih"]), ("ying1", ["ih", "nn"]), ("you3", ["ih", "oh", "ou"]), ("yan4", ["ih", "E", "nn"]),
    ("ai4", ["aa", "ih"]), ("ou1", ["oh", "ou"]), ("e4", ["E"]), ("ê4", ["E"]), ("o2", ["oh"]),
    ("gui4", ["kk", "ou", "E", "ih"]), ("kan4", ["kk", "aa", "nn"]), ("he2", ["kk", "E"]),
    ("dong1", ["DD", "ou", "nn"]), ("tian1", ["DD", "ih", "E", "nn"]), ("niu2", ["nn", "ih", "oh", "ou"]),
    ("lun2", ["nn", "ou", "E", "nn"]), ("cong2", ["SS", "ou", "nn"]), ("qiong2", ["CH", "ih", "ou", "nn"]),
    ("mo5", ["PP", "oh"]), ("de5", ["DD", "E"]),
])
def test_pinyin_visemes(syllable, expected):
    assert visemes(syllable) == expected


@pytest.mark.parametrize("syllable, phones", [
    ("zhuang1", ["ʈʂ", "w", "ɑ", "ŋ"]), ("ci2", ["tsʰ", "ɨ"]), ("xue2", ["ɕ", "ɥ", "ɛ"]), ("lv4", ["l", "y"]),
    ("qu4", ["tɕʰ", "y"]), ("yue4", ["ɥ", "ɛ"]), ("you3", ["j", "o", "ʊ"]), ("wen2", ["w", "ə", "n"]),
    ("er2", ["ɚ"]), ("ang1", ["ɑ", "ŋ"]), ("ba", ["p", "a"]),
])
def test_pinyin_phones(syllable, phones):
    assert mandarin.pinyin_phones(syllable) == phones


def test_tones_and_spellings():
    assert mandarin.parse("lv4") == mandarin.parse("lü4") == mandarin.parse("lu:4") == ("l", "ü", 4)
    assert mandarin.parse("ma") == ("m", "a", 5)  # no digit: neutral tone
    assert mandarin.parse("yuan2") == ("", "üan", 2)
    assert mandarin.parse("jue2") == ("j", "üe", 2)
    assert mandarin.espeak_phonemes("zhuang1") == "[[ts.'uA55N]]"
    assert mandarin.espeak_phonemes("ci2") == "[[tsh'i[35]]"
    assert mandarin.espeak_phonemes("ang4") == "[['A51N]]"


@pytest.mark.parametrize("bad", ["", "ma6", "xyz1", "ng2", "m2", "yo1", "ma 3"])
def test_not_a_syllable(bad):
    with pytest.raises(mandarin.BadSyllable):
        mandarin.parse(bad)


def test_every_initial_and_final_has_strict_visemes():
    for initial in ["", *mandarin.INITIALS]:
        for final in mandarin.FINALS:
            try:
                phones = mandarin.pinyin_phones(initial + final.replace("ü", "v") + "1")
            except mandarin.BadSyllable:
                continue
            for name in phones:
                sd.phone_visemes(name, strict=True)


def test_espeak_speaks_each_group_as_one_phone():
    texts = sorted({p.read_text().strip() for p in GCIN.glob("gcin_*.txt")})
    assert len(texts) == 200
    for text in texts:
        synth = mandarin.synthesize_syllable(text)  # raises if espeak's phones do not line up
        assert synth.phones[0][2] == sd.PAUSE and synth.phones[-1][2] == sd.PAUSE


# --- the NAME.phones.json files --------------------------------------------------------------------------

def _timings():
    import soundfile as sf

    out = []
    for wav in sorted(GCIN.glob("*.wav")):
        timing = json.loads(wav.with_name(wav.stem + ".phones.json").read_text(encoding="utf-8"))
        out.append((wav, sf.info(wav).frames, timing))
    return out


def test_timing_files_tile_each_recording_with_known_phones():
    timings = _timings()
    assert len(timings) == 200
    for wav, n_samples, timing in timings:
        phones = timing["phones"]
        assert timing["text"] == wav.with_suffix(".txt").read_text().strip()
        assert timing["method"]
        assert phones[0][0] == 0.0
        assert phones[-1][1] == n_samples / RATE, wav.name  # exactly the file's length
        for (_, end_s, _), (start_s, _, _) in zip(phones, phones[1:]):
            assert start_s == end_s, wav.name
        assert all(end_s > start_s for start_s, end_s, _ in phones), wav.name
        for _, _, name in phones:
            sd.phone_visemes(name, strict=True)
        spoken = [name for _, _, name in phones if name != sd.PAUSE]
        assert spoken == mandarin.pinyin_phones(timing["text"]), wav.name


def test_timing_files_look_like_syllables():
    """Coarse plausibility: speech covers most of each file and no phone is a sliver."""
    for wav, n_samples, timing in _timings():
        spoken = [(a, b) for a, b, name in timing["phones"] if name != sd.PAUSE]
        assert spoken[-1][1] - spoken[0][0] > 0.5 * n_samples / RATE, wav.name
        assert min(b - a for a, b in spoken) >= 0.015, wav.name


# --- DTW ------------------------------------------------------------------------------------------------

def test_dtw_path_on_a_known_warp():
    a = np.array([0, 0, 1, 1, 1, 2, 2, 3], float)
    b = np.array([0, 1, 2, 2, 2, 2, 3, 3, 3], float)
    i, j = dtw_align.dtw_path(np.abs(a[:, None] - b[None, :]))
    assert (i[0], j[0]) == (0, 0) and (i[-1], j[-1]) == (len(a) - 1, len(b) - 1)
    assert np.all(np.diff(i) >= 0) and np.all(np.diff(j) >= 0)
    assert np.all(a[i] == b[j])  # every pair matches: the warp is exact


def _segments(kinds_durations, seed: int, level: float) -> np.ndarray:
    """Concatenated test sounds: "sil" (faint noise), "lo" (150 Hz pulse train through a 500 Hz resonance),
    "hi" (the same through 2 kHz), "fric" (high-passed noise)."""
    from scipy.signal import butter, lfilter

    rng = np.random.default_rng(seed)
    out = []
    for kind, dur_s in kinds_durations:
        n = int(dur_s * RATE)
        if kind == "sil":
            x = 1e-4 * rng.standard_normal(n)
        elif kind == "fric":
            x = lfilter(*butter(4, 4000, "highpass", fs=RATE), rng.standard_normal(n)) * 0.05
        else:
            pulses = (np.arange(n) % (RATE // 150) == 0).astype(float)
            centre = 500 if kind == "lo" else 2000
            x = lfilter(*butter(2, [centre * 0.8, centre * 1.2], "bandpass", fs=RATE), pulses) * 2
        out.append(level * x)
    return np.concatenate(out).astype(np.float32)


def test_transfer_boundaries_on_a_known_warp():
    synth_plan = [("sil", 0.10), ("fric", 0.10), ("lo", 0.15), ("hi", 0.10), ("sil", 0.10)]
    real_plan = [("sil", 0.05), ("fric", 0.17), ("lo", 0.09), ("hi", 0.20), ("sil", 0.20)]
    synth_bounds = np.cumsum([d for _, d in synth_plan])
    real_bounds = np.cumsum([d for _, d in real_plan])
    audio = _segments(synth_plan, 1, 1.0)
    phones = [(float(a), float(b), name) for a, b, name in
              zip([0.0, *synth_bounds[:-1]], synth_bounds, ["_", "s", "a", "i", "_"])]
    synth = sd.PhoneTimedSpeech(audio, RATE, phones, "test", "test")
    moved = dtw_align.transfer_boundaries(_segments(real_plan, 2, 0.3), synth)
    assert np.abs(np.array(moved) - real_bounds[:-1]).max() <= 0.0125
    # an anchor is met exactly, and the pieces on either side are warped on their own
    anchored = dtw_align.transfer_boundaries(_segments(real_plan, 2, 0.3), synth,
                                             anchors=[(synth_bounds[1], real_bounds[1] + 0.01)])
    assert anchored[1] == pytest.approx(real_bounds[1] + 0.01)
    assert abs(anchored[2] - real_bounds[2]) <= 0.0125


def test_trim_edge_pauses_keeps_the_speech():
    synth = sd.synthesize("[[p'A55]]", "cmn", pad_s=0.2, phoneme_input=True)
    trimmed = dtw_align.trim_edge_pauses(synth, 0.03)
    assert [p[2] for p in trimmed.phones] == [p[2] for p in synth.phones] == ["_", "p", "ɑ", "_"]
    assert trimmed.phones[0][1] == pytest.approx(0.03, abs=1e-3)
    assert trimmed.phones[-1][1] - trimmed.phones[-1][0] == pytest.approx(0.03, abs=1e-3)
    assert trimmed.phones[-1][1] == pytest.approx(trimmed.duration_s)


# --- landmarks ------------------------------------------------------------------------------------------

def test_voicing_onset_after_frication():
    audio = _segments([("sil", 0.05), ("fric", 0.12), ("lo", 0.2), ("sil", 0.05)], 3, 0.5)
    mel = dtw_align.mel_5ms(audio)
    assert landmarks.periodicity(audio)[int(0.25 / 0.005)] > 0.8
    assert landmarks.periodicity(audio)[int(0.10 / 0.005)] < 0.5
    found = landmarks.voicing_onset(audio, mel, 0.07, 0.40)
    assert found == pytest.approx(0.17, abs=0.01)
    span = landmarks.energy_span(mel, landmarks.quiet_level_db(audio))
    # 25 ms windows: a sharp edge 60 dB above the floor reads up to half a window early (onset) or late (offset)
    assert span[0] == pytest.approx(0.05, abs=0.0125) and span[1] == pytest.approx(0.37, abs=0.0125)


def test_sonorant_release_after_a_murmur():
    murmur = 0.05 * _segments([("lo", 0.1)], 4, 1.0)  # a vowel-like sound 26 dB down stands for the murmur
    vowel = _segments([("lo", 0.2), ("sil", 0.05)], 5, 1.0)
    audio = np.concatenate([_segments([("sil", 0.05)], 4, 1.0), murmur, vowel])
    mel = dtw_align.mel_5ms(audio)
    assert landmarks.sonorant_release(mel, 0.07, 0.38) == pytest.approx(0.15, abs=0.01)


# --- espeak phoneme input and the accuracy harness -------------------------------------------------------

def test_phoneme_input_and_aspirated_affricates():
    synth = sd.synthesize("[[tsh'i[55]]", "cmn", phoneme_input=True)
    assert [p[2] for p in synth.phones if p[2] != sd.PAUSE] == ["tsh", "i̪"]
    assert sd.phone_visemes("tɕʰ") == ("CH",) and sd.phone_visemes("ʈʂʰ") == ("CH",)
    assert sd.phone_visemes("tsʰ") == ("SS",)


def test_reference_parsers_and_matching():
    evaldata = dtw_accuracy.EVALDATA
    hand = dtw_accuracy.textgrid_phones(evaldata / "parselmouth" / "the_north_wind_and_the_sun.hand.TextGrid")
    assert hand[0][2] == sd.PAUSE and hand[1][2] == "ð" and hand[1][0] == pytest.approx(0.0683, abs=1e-4)
    hts = dtw_accuracy.hts_phones(evaldata / "cmu_arctic" / "slt_arctic_a0009.hts.lab")
    assert hts[0] == (0.0, 0.13, sd.PAUSE) and hts[1][2] == "h"
    pairs = dtw_accuracy.match_phones(["_", "b", "æ", "t", "_"], ["b", "a", "d", "_"])
    assert pairs == [(1, 0), (2, 1), (3, 2), (4, 3)]  # æ ~ a and t ~ d share visemes
