"""Voice activity (Silero VAD) and the gate it puts on the lip model's rows (motion/voice_activity.py), and the
stream that applies it (motion/stream.py): real speech is found, any chunking gives the same answer, the
gate moves only pause and open-viseme weight, and it never delays a frame."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.bridge.schema import VISEME_NAMES
from facecast.runtime.engine.motion import voice_activity as va
from facecast.runtime.engine.motion.engine import MotionEngine
from facecast.runtime.engine.motion.stream import MotionStream, bake
from facecast.runtime.engine.session import make_lips
from facecast.runtime.workshop.motion import speechdata as sd
from facecast.runtime.workshop.motion.realspeech import LIBRIVOX_DIR, load_recordings
from fakes.lips import ConstantLips

SIL, PP = VISEME_NAMES.index("sil"), VISEME_NAMES.index("PP")
PAD_S = 0.5


@pytest.fixture(scope="module")
def reader():
    """A LibriVox recording (a real reader, pocketsphinx-aligned) with PAD_S of digital silence either side
    -> (audio (n,) float32 16 kHz, phones on that axis)."""
    utt = load_recordings(LIBRIVOX_DIR)[0]
    pad = np.zeros(round(PAD_S * 16000), np.float32)
    phones = [(a + PAD_S, b + PAD_S, n) for a, b, n in utt.speech.phones]
    return np.concatenate([pad, utt.audio, pad]), phones


def test_real_speech_is_speech_and_silence_is_not(reader):
    audio, phones = reader
    probs = va.VoiceActivity().push(audio)
    assert len(probs) == len(audio) // va.CHUNK
    centre_s = (np.arange(len(probs)) + 0.5) * va.CHUNK / 16000
    in_vowel = np.zeros(len(probs), bool)
    for a, b, name in phones:
        if sd.phone_visemes(name, strict=False)[0] in ("aa", "E", "ih", "oh", "ou"):
            in_vowel |= (centre_s > a) & (centre_s < b)
    assert in_vowel.sum() > 20 and np.median(probs[in_vowel]) > 0.9
    assert np.mean(probs[in_vowel] > va.SPEECH_RAMP[0]) > 0.9
    padding = (centre_s < PAD_S - 0.1) | (centre_s > len(audio) / 16000 - PAD_S + 0.1)
    assert padding.sum() > 20 and np.max(probs[padding]) < va.NON_SPEECH_BELOW


def test_any_chunking_gives_the_same_probabilities(reader):
    audio = reader[0][:40000]
    whole = va.VoiceActivity().push(audio)
    vad = va.VoiceActivity()
    rng = np.random.default_rng(0)
    parts, start = [], 0
    while start < len(audio):
        n = int(rng.integers(1, 2000))
        parts.append(vad.push(audio[start:start + n]))
        start += n
    assert vad.chunks_done == len(whole)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_the_gate_moves_only_pause_and_open_weight():
    rows = np.random.default_rng(1).dirichlet(np.ones(len(VISEME_NAMES)), 6).astype(np.float32)
    rows[5] = 0.0
    rows[5, SIL] = 1.0  # all pause
    p = np.array([0.0, 0.05, 0.5, va.SPEECH_RAMP[1], 1.0, 1.0])
    out = va.gate_silence(rows, p)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-6)
    # non-speech: the open visemes' weight goes to the pause (all of it at P = 0, half at P = 0.05); PP is kept
    assert out[0, SIL] == pytest.approx(1.0 - rows[0, PP]) and out[0, PP] == pytest.approx(rows[0, PP])
    open_ = [i for i in range(len(VISEME_NAMES)) if i not in (SIL, PP)]
    np.testing.assert_allclose(out[1, open_], rows[1, open_] / 2, rtol=1e-5)
    assert out[1, PP] == pytest.approx(rows[1, PP])
    # undecided: untouched
    np.testing.assert_allclose(out[2], rows[2], rtol=1e-6)
    # confident speech: no pause weight; the rest keep their proportions
    for i in (3, 4):
        assert out[i, SIL] == 0.0
        np.testing.assert_allclose(out[i, 1:] / out[i, PP], rows[i, 1:] / rows[i, PP], rtol=1e-5)
    # a row that is all pause has nothing to give its weight to
    np.testing.assert_array_equal(out[5], rows[5])
    # a pause the lip model is sure of stays, speech or not (other voices in a pause are speech to the VAD)
    sure = np.zeros((1, len(VISEME_NAMES)), np.float32)
    sure[0, SIL], sure[0, VISEME_NAMES.index("aa")] = va.UNSURE_PAUSE[1], 1.0 - va.UNSURE_PAUSE[1]
    np.testing.assert_allclose(va.gate_silence(sure, [1.0]), sure, rtol=1e-6)


def _flat(lookahead_frames: int = 4) -> ConstantLips:
    """Every frame half pause, half the vowel E."""
    return ConstantLips({"sil": 0.5, "E": 0.5}, lookahead_frames)


def _stream_out(lips, audio, voice_activity):
    stream = MotionStream(lips, MotionEngine(rate_hz=60.0), voice_activity=voice_activity)
    out = []
    for start in range(0, len(audio), 160):  # 10 ms at a time, as a microphone delivers them
        out.extend(stream.feed(audio[start:start + 160]))
    return out


def test_the_gate_costs_no_latency_and_follows_the_speech(reader):
    audio, phones = reader
    gated = _stream_out(_flat(), audio, True)
    plain = _stream_out(_flat(), audio, False)
    assert [tf.needed_sample_index for tf in gated] == [tf.needed_sample_index for tf in plain]
    assert [tf.frame.t_audio_s for tf in gated] == [tf.frame.t_audio_s for tf in plain]
    sil = np.array([tf.frame.visemes[SIL] for tf in gated])
    t = np.array([tf.frame.t_audio_s for tf in gated])
    assert np.all(np.array([tf.frame.visemes[SIL] for tf in plain]) == pytest.approx(0.5))
    # in the padding the pause takes (nearly) all; inside the reader's vowels it is gone
    assert np.all(sil[(t > 0.1) & (t < PAD_S - 0.1)] > 0.95)
    vowels = np.zeros(len(t), bool)
    for a, b, name in phones:
        if name in ("ɑ", "æ", "ʌ", "ɔ", "aɪ", "aʊ", "eɪ", "oʊ"):
            vowels |= (t > a + 0.03) & (t < b - 0.03)
    assert vowels.sum() > 10 and np.median(sil[vowels]) == pytest.approx(0.0, abs=1e-6)


def test_the_lips_choose_the_gate():
    """Off unless asked for: `--lips model-vad` (LipModel(voice_gate=True)); the loudness baseline never."""
    def voice(kind):
        return MotionStream(make_lips(kind, "cpu"), MotionEngine(rate_hz=60.0)).voice

    assert voice("model") is None and voice("energy") is None
    assert isinstance(voice("model-vad"), va.VoiceActivity)
    assert MotionStream(_flat(), MotionEngine(rate_hz=60.0)).voice is None


def test_a_gate_that_has_not_heard_the_chunk_waits_for_it():
    """With lips that look fewer than MIN_LOOKAHEAD_FRAMES ahead, a frame waits for its row's VAD chunk:
    it is never emitted before the audio it needs, and the rows it shows are the same as when fed at once."""
    audio = np.zeros(16000, np.float32)
    stream = MotionStream(_flat(lookahead_frames=0), MotionEngine(rate_hz=60.0), voice_activity=True)
    fed, frames = 0, []
    for start in range(0, len(audio), 160):
        fed += 160
        for tf in stream.feed(audio[start:start + 160]):
            chunk = va.chunk_of_row(round(tf.frame.t_audio_s * 100) - 1)
            assert (chunk + 1) * va.CHUNK <= fed  # its last row's chunk had been heard
            frames.append(tf.frame)
    whole = bake(audio, _flat(lookahead_frames=0), MotionEngine(rate_hz=60.0), voice_activity=True)
    assert len(frames) > 50
    for a, b in zip(frames, whole):
        np.testing.assert_allclose(a.visemes, b.visemes, atol=1e-6)


def test_a_tone_is_not_speech_and_does_not_open_the_mouth():
    t = np.arange(16000) / 16000
    tone = (0.25 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    gated = bake(tone, _flat(), MotionEngine(rate_hz=60.0), voice_activity=True)
    plain = bake(tone, _flat(), MotionEngine(rate_hz=60.0), voice_activity=False)
    middle = slice(20, 50)
    assert max(f.lip_aperture() for f in gated[middle]) < 0.02
    assert min(f.lip_aperture() for f in plain[middle]) > 0.1


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="silero_vad.onnx"):
        va.VoiceActivity(tmp_path / "silero_vad.onnx")


def test_bake_with_the_gate_from_the_command_line(tmp_path):
    """`facecast bake --lips model-vad` as a user runs it: same frames and stamps as `--lips model`, visemes
    changed only through the gate (some pause weight gone in the sample's speech), every row still a
    distribution."""
    import json
    import subprocess
    import sys

    from facecast.runtime.engine.config import SAMPLE_SPEECH

    rows = {}
    for kind in ("model", "model-vad"):
        out = tmp_path / f"{kind}.jsonl"
        proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "bake", str(SAMPLE_SPEECH), "--lips", kind,
                               "--device", "cpu", "--out", str(out)], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        rows[kind] = [json.loads(line) for line in out.read_text().splitlines()]
    plain, gated = rows["model"], rows["model-vad"]
    assert [r["t"] for r in plain] == [r["t"] for r in gated]
    vis_plain = np.array([[r["visemes"][name] for name in VISEME_NAMES] for r in plain])
    vis_gated = np.array([[r["visemes"][name] for name in VISEME_NAMES] for r in gated])
    np.testing.assert_allclose(vis_gated.sum(1), 1.0, atol=1e-4)
    assert np.sum(vis_gated[:, SIL] < vis_plain[:, SIL] - 0.05) >= 5  # 10 frames on the sample speech
