"""Festival's training voices (festival.FESTIVAL_TRAIN_VOICES): Russian and Catalan speakers, kept apart from
the evaluation voices, whose phones all map to visemes."""

from itertools import pairwise

import numpy as np
import pytest
from facecast.runtime.workshop.motion import festival as fv
from facecast.runtime.workshop.motion import speechdata as sd
from facecast.runtime.workshop.motion import train_lips as tl

SENTENCES = {"ru": "Мама мыла раму, а папа пил чай.", "ca": "La mare menja pa amb tomàquet."}


def test_training_and_evaluation_voices_share_nothing():
    assert not set(fv.FESTIVAL_VOICES) & set(fv.FESTIVAL_TRAIN_VOICES)
    functions = {entry[0] for entry in fv.FESTIVAL_VOICES.values()}
    languages = {entry[1] for entry in fv.FESTIVAL_VOICES.values()}
    for func, lang, _, _ in fv.FESTIVAL_TRAIN_VOICES.values():
        assert func not in functions and lang not in languages


def test_training_phone_tables_map_strictly():
    for voice, table in fv.TRAIN_PHONES.items():
        for name in table:
            ipa = fv.festival_phone(name, voice)
            assert ipa == sd.PAUSE or sd.phone_visemes(ipa, strict=True)
    assert fv.festival_phone("vv", "ru") == "vʲ" and sd.phone_visemes("vʲ") == ("FF",)
    assert fv.festival_phone("ch", "ru") == "tɕ" and fv.festival_phone("ch", "cs") == "x"  # per-voice tables
    assert fv.festival_phone("O1", "ca") == "ɔ"


def test_training_word_lists_encode_for_their_voices():
    for _, lang, encoding, _ in fv.FESTIVAL_TRAIN_VOICES.values():
        words = tl.WORDS[lang].split()
        assert len(words) >= 100 and len(set(words)) == len(words)
        tl.WORDS[lang].encode(encoding)
        assert tl.split_words(lang, "dev") == words[4::5]


@pytest.mark.parametrize("voice", sorted(fv.FESTIVAL_TRAIN_VOICES))
def test_training_voice_speaks_with_phones_tiling_the_audio(voice):
    if not fv.festival_available(voice):
        pytest.skip(f"festival voice {voice} not installed (apt-get install festival "
                    f"{fv.FESTIVAL_TRAIN_VOICES[voice][3]})")
    speech = fv.synthesize_festival(SENTENCES[voice], voice, pad_s=0.1)
    assert speech.sample_rate_hz == 16000 and speech.voice == f"festival-{voice}"
    phones = speech.phones
    assert phones[0][0] == 0.0 and phones[-1][1] == pytest.approx(speech.duration_s, abs=1e-6)
    assert all(a[1] == pytest.approx(b[0]) for a, b in pairwise(phones))
    visemes = [v for _, _, n in phones for v in sd.phone_visemes(n, strict=True)]
    assert visemes.count("PP") >= 3 and visemes.count("aa") >= 3  # m/p/b lip closures, open a vowels
    assert 20 * np.log10(np.sqrt(np.mean(speech.audio.astype(np.float64) ** 2))) > -35


def test_festival_engine_has_no_dev_voices():
    with pytest.raises(ValueError, match="training voices only"):
        tl.make_utterances("dev", 1, 0, engine="festival")
