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


def _recorded_voice(tmp_path, lab: str):
    """A minimal msu_ru_nsh layout: one 1.0 s recording of a 150 Hz tone and its .lab file."""
    import soundfile as sf

    root = tmp_path / fv.RECORDED_VOICES["ru"]
    (root / "wav").mkdir(parents=True)
    (root / "lab").mkdir()
    tone = 0.1 * np.sin(2 * np.pi * 150 * np.arange(16000) / 16000)
    sf.write(root / "wav" / "ru_0001.wav", tone.astype(np.float32), 16000, subtype="PCM_16")
    (root / "lab" / "ru_0001.lab").write_text(lab, encoding="utf-8")
    return tmp_path


def test_recordings_of_the_russian_voice_load_with_mapped_phones(tmp_path):
    """festvox-ru's .lab files (Xlabel: a "#" header, then "end_s 125 phone") give phone intervals in
    speechdata's names that tile the recording; the last pause is cut at the end of the audio."""
    lab = "#\n0.20 125 pau\n0.35 125 m\n0.60 125 aa\n0.70 125 pp\n0.90 125 a\n1.05 125 pau\n"
    [utt] = fv.voice_recordings("ru", voices_dir=_recorded_voice(tmp_path, lab))
    assert utt.audio.dtype == np.float32 and len(utt.audio) == 16000
    assert utt.speech.phones == [(0.0, 0.2, sd.PAUSE), (0.2, 0.35, "m"), (0.35, 0.6, "a"), (0.6, 0.7, "pʲ"),
                                 (0.7, 0.9, "ɐ"), (0.9, 1.0, sd.PAUSE)]
    target = sd.viseme_track(utt.speech, strict=True)
    assert target.shape == (100, len(sd.VISEME_NAMES))


def test_missing_recordings_name_the_package(tmp_path):
    with pytest.raises(RuntimeError, match="apt-get install festvox-ru"):
        fv.voice_recordings("ru", voices_dir=tmp_path)
    with pytest.raises(ValueError, match="recorded voices"):
        fv.voice_recordings("ca", voices_dir=tmp_path)


def test_installed_russian_recordings_are_the_voices_source():
    if not (fv.VOICES_DIR / fv.RECORDED_VOICES["ru"] / "wav").is_dir():
        pytest.skip("festvox-ru not installed (retraining only: apt-get install festvox-ru)")
    utts = fv.voice_recordings("ru", limit=5)
    assert len(utts) == 5
    for utt in utts:
        assert utt.speech.phones[0][0] == 0.0 and utt.speech.phones[-1][1] == pytest.approx(len(utt.audio) / 16000)
        assert all(sd.phone_visemes(n, strict=True) for _, _, n in utt.speech.phones if n != sd.PAUSE)
