"""Tests for the KLettres real-syllable preparation (klettres.py): reading the package's sounds.xml, placing
espeak-ng's phones on a recording surrounded by room noise, and the files it writes for `train_lips --real-dirs`.

The recordings themselves (Debian klettres-data) are a training-only install; these tests build their own
recordings from espeak-ng speech spoken slower and lower than the aligner's rendering, with known phone times.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from facecast.runtime.workshop.motion import dtw_align, klettres, landmarks, realspeech
from facecast.runtime.workshop.motion import speechdata as sd

RATE = 16000
NOISE_S = 0.6


def recording(text: str, voice: str, seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """espeak-ng speech at 110 wpm, pitch 30 (the aligner renders at 175 wpm, pitch 50), with NOISE_S of
    -60 dBFS white noise before and after -> (audio (N,) float32 16 kHz, its spoken phones on that axis)."""
    speech = sd.synthesize(text, voice, rate_wpm=110, pitch=30)
    x = dtw_align.to_16k(speech.audio, speech.sample_rate_hz)
    pad = np.zeros(round(NOISE_S * RATE), np.float32)
    audio = np.concatenate([pad, x, pad])
    audio = audio + np.random.default_rng(seed).normal(0.0, 1e-3, len(audio)).astype(np.float32)
    return audio, [(a + NOISE_S, b + NOISE_S, n) for a, b, n in speech.phones if n != sd.PAUSE]


@pytest.mark.parametrize("text, voice", [("ma", "es"), ("pa", "it"), ("dog", "en-us"), ("бо", "ru"), ("na", "es")])
def test_align_word_finds_the_word_in_room_noise(text, voice):
    audio, truth = recording(text, voice)
    phones = klettres.align_word(audio, text, voice, landmarks.quiet_level_db(audio))
    assert phones[0][0] == 0.0 and phones[-1][1] == pytest.approx(len(audio) / RATE)
    assert all(abs(b - a2) < 1e-9 for (_, b, _), (a2, _, _) in zip(phones, phones[1:]))  # tiles the file
    spoken = [p for p in phones if p[2] != sd.PAUSE]
    assert [n for _, _, n in spoken] == [n for _, _, n in truth]
    # the speech edges sit on the loud stretch, not spread over the noise by the warp (which put "dog" at 0-2 s)
    assert abs(spoken[0][0] - truth[0][0]) <= 0.015
    assert abs(spoken[-1][1] - truth[-1][1]) <= 0.03
    # every phone keeps some time, the initial at least MIN_INITIAL_S; inner boundaries within 70 ms (espeak-ng's
    # voiced stops are short and their vowel onsets soft: the release of "dog" lands 45 ms late on this speech)
    assert spoken[0][1] - spoken[0][0] >= klettres.MIN_INITIAL_S - 1e-9
    for (_, got, _), (_, want, _) in zip(spoken[:-1], truth[:-1]):
        assert abs(got - want) <= 0.07


def test_the_release_anchor_moves_a_nasal_boundary_towards_the_truth():
    """After a long murmur the warp alone puts the n|a boundary far too early; the landmark pulls it back."""
    audio, truth = recording("na", "es")
    onset_s, offset_s = truth[0][0], truth[-1][1]
    mel = dtw_align.mel_5ms(audio)
    release_s = klettres._release(audio, mel, ["n", "a"], onset_s, offset_s)
    synth = dtw_align.trim_edge_pauses(sd.synthesize("na", "es", pad_s=0.03), 0.03)
    inner = [p for p in synth.phones if p[2] != sd.PAUSE]
    times = [inner[0][0], inner[1][0], inner[1][1]]
    warped = dtw_align.transfer_boundaries(audio, synth, times, [(times[0], onset_s), (times[-1], offset_s)])
    assert release_s is not None
    assert abs(release_s - truth[0][1]) < abs(warped[1] - truth[0][1])
    # voiced fricatives: the warp alone
    assert klettres._release(audio, mel, ["z", "a"], onset_s, offset_s) is None
    assert klettres._release(audio, mel, ["a"], onset_s, offset_s) is None
    # no vowel after the consonant
    assert klettres._release(audio, mel, ["n", "t"], onset_s, offset_s) is None


def write_package(root, entries: dict[str, list[tuple[str, str]]]) -> None:
    """A KLettres tree: root/<lang>/sounds.xml naming (text, file) pairs; files listed under 'missing/' are not
    created."""
    for lang, sounds in entries.items():
        (root / lang / "syllab").mkdir(parents=True)
        items = "".join(f'<sound name="{text}" file="{file}" />' for text, file in sounds)
        (root / lang / "sounds.xml").write_text(f'<klettres><language code="{lang}"><syllables>{items}'
                                                '</syllables></language></klettres>', encoding="utf-8")
        for _, file in sounds:
            if "missing" not in file:
                audio, _ = recording("ma", "es")
                sf.write(root / file, audio, RATE, subtype="VORBIS" if file.endswith(".ogg") else "PCM_16")


def test_recordings_read_sounds_xml(tmp_path):
    write_package(tmp_path, {"en": [("MA", "en/syllab/ma.ogg")],
                             "es": [("MA", "es/syllab/ma.wav"), ("PA", "es/syllab/missing.wav")]})
    recs = klettres.recordings(tmp_path)
    assert [(r.language, r.text, r.path.name) for r in recs] == [("en", "MA", "ma.ogg"), ("es", "MA", "ma.wav")]
    with pytest.raises(ValueError, match="no espeak-ng voice"):
        klettres.recordings(tmp_path, ("nds",))
    with pytest.raises(FileNotFoundError, match="apt-get install klettres-data"):
        klettres.recordings(tmp_path / "nowhere")


def test_written_language_loads_as_real_speech(tmp_path):
    write_package(tmp_path / "pkg", {"es": [("MA", "es/syllab/ma.ogg"), ("MA", "es/syllab/ma2.wav")]})
    recs = klettres.recordings(tmp_path / "pkg", ("es",))
    assert klettres.write_language(recs, tmp_path / "out" / "es") == 2
    utts = realspeech.load_recordings(tmp_path / "out" / "es")
    assert len(utts) == 2
    for utt in utts:
        names = [n for _, _, n in utt.speech.phones]
        assert names == [sd.PAUSE, "m", "a", sd.PAUSE]
        # room noise cut to KEEP_SILENCE_S either side of the speech
        assert utt.speech.phones[0][1] == pytest.approx(klettres.KEEP_SILENCE_S, abs=0.02)
        assert utt.speech.phones[-1][1] - utt.speech.phones[-1][0] == pytest.approx(klettres.KEEP_SILENCE_S, abs=0.02)
        record = json.loads(next((tmp_path / "out" / "es").glob("*.phones.json")).read_text())
        assert record["text"] == "MA" and record["method"] == klettres.METHOD
