"""Tests for the lip-sync front end and models: features.MelStream, lips.LipModel / EnergyLips, eval_lips."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.bridge.schema import VISEME_NAMES
from facecast.runtime.workshop.motion import speechdata as sd
from facecast.runtime.engine.motion.features import HOP, LOG_FLOOR, N_MELS, MelStream, log_mel
from facecast.runtime.engine.motion.lips import DEFAULT_MODEL_PATH, EnergyLips, LipModel, LoudnessOpen

try:
    sd.synthesize("a")
    HAVE_ESPEAK = True
except sd.EspeakUnavailable:  # pragma: no cover
    HAVE_ESPEAK = False

needs_model = pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="models/lips.onnx not built")
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="libespeak-ng unavailable")


def _chunks(n: int, rng: np.random.Generator, max_len: int):
    i = 0
    while i < n:
        k = int(rng.integers(0, max_len))  # zero-length chunks included
        yield i, min(n, i + k)
        i += k


def test_mel_stream_equals_one_shot():
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal(16_000 * 2 + 77)).astype(np.float32)
    whole = log_mel(x)
    assert whole.shape == (len(x) // HOP, N_MELS) and whole.dtype == np.float32
    stream = MelStream()
    parts, indices = [], []
    for a, b in _chunks(len(x), rng, 700):
        chunk = stream.push(x[a:b])
        parts.append(chunk.mel)
        indices.append(chunk.frame_indices)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate(indices), np.arange(len(whole)))


def test_mel_silence_reads_floor():
    mel = log_mel(np.zeros(1600, np.float32))
    assert mel.shape == (10, N_MELS)
    assert np.all(mel == np.float32(LOG_FLOOR))


@needs_model
def test_lip_model_streams_like_whole():
    rng = np.random.default_rng(2)
    mel = log_mel((0.05 * rng.standard_normal(16_000)).astype(np.float32))
    model = LipModel(device="cpu")
    assert 1 <= model.lookahead_frames <= 4
    whole = model.step(mel)
    model.reset()
    chunked = np.concatenate([model.step(mel[a:b]) for a, b in _chunks(len(mel), rng, 13)])
    assert whole.shape == (len(mel), 15) and whole.dtype == np.float32
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0, atol=1e-5)
    assert model.frames_in == len(mel)


@needs_model
def test_cuda_request_without_cuda_is_a_clear_error():
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError, match="CUDAExecutionProvider"):
        LipModel(device="cuda")


def test_energy_baseline_rows_sum_to_one():
    mel = log_mel((0.1 * np.random.default_rng(3).standard_normal(8000)).astype(np.float32))
    out = EnergyLips().infer(mel)
    assert out.shape == (len(mel), 15)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def _tone(dbfs: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_loudness_is_relative_to_the_recent_peak():
    """Loud frames read 1, frames 20 dB under the peak read (30 - 20) / 15, digital silence 0; the peak
    decays 2 dB/s, so a quieter speaker reads loud again after a while; chunked = one-shot; the energy
    baseline opens by the same measure."""
    audio = np.concatenate([_tone(-12, 0.5), _tone(-32, 0.5), np.zeros(4000, np.float32), _tone(-32, 12.0)])
    mel = log_mel(audio)
    whole = LoudnessOpen().step(mel)
    assert whole.shape == (len(mel),) and whole.dtype == np.float32
    assert np.all((whole >= 0) & (whole <= 1))
    assert np.allclose(whole[5:45], 1.0)
    assert np.allclose(whole[53:60], 10 / 15, atol=0.02)
    assert np.all(np.diff(whole[55:95]) > 0)  # the peak decays, the quiet tone reads ever louder
    assert np.all(whole[105:120] == 0.0)  # digital silence
    assert np.allclose(whole[-50:], 1.0)  # 12 s later the 20 dB have decayed away: the quiet voice is the peak
    chunked = LoudnessOpen()
    parts = [chunked.step(mel[i:i + 7]) for i in range(0, len(mel), 7)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_allclose(EnergyLips().infer(mel)[:, VISEME_NAMES.index("aa")], whole)


@pytest.fixture(scope="module")
def unseen_english():
    """Clean English speech from a dev voice (not in training) and dev words (not in training texts)."""
    from facecast.runtime.workshop.motion.train_lips import DEV_VARIANTS, TRAIN_VARIANTS, make_utterances

    utts = make_utterances("dev", 4, seed=12345, augmented=False, langs=("en",))
    for u in utts:
        assert u.voice.split("+")[1] in DEV_VARIANTS and u.voice.split("+")[1] not in TRAIN_VARIANTS
    return utts


@needs_model
@needs_espeak
def test_model_beats_baseline_on_unseen_voice(unseen_english):
    from facecast.runtime.workshop.motion.eval_lips import evaluate

    model = evaluate(LipModel(device="cpu"), unseen_english)
    base = evaluate(EnergyLips(), unseen_english)
    # measured with the shipped model: top1 0.93 (baseline 0.43), lips closed 0.97, silence 0.995, lag -0.1 ms
    assert model["top1"] > base["top1"] + 0.35, (model, base)
    assert model["top1"] > 0.85, model
    assert model["lips_closed_pbm"] > 0.85, model
    assert model["silence_acc"] > 0.95, model
    assert abs(model["lag_ms"]) <= 10, model


def test_real_recordings_for_training_come_clean_then_augmented():
    """train_lips --real-dirs: every recording `copies` times, the first copy at -20 dBFS, the others through
    the augmentation (so they differ), each with its own soft viseme targets."""
    from facecast.runtime.workshop.motion.realspeech import EVALDATA_DIR, load_recordings
    from facecast.runtime.workshop.motion.train_lips import real_train_set

    recordings = load_recordings(EVALDATA_DIR / "cmu_arctic")
    n_recordings = len(recordings)
    mel, target, starts = real_train_set(recordings, copies=3, seed=0)
    assert len(starts) == 3 * n_recordings + 1 and starts[-1] == len(mel) == len(target)
    assert mel.shape[1] == N_MELS and target.shape[1] == len(sd.VISEME_NAMES)
    np.testing.assert_allclose(target.astype(np.float64).sum(axis=1), 1.0, atol=2e-3)
    first, again = mel[starts[0]:starts[1]], mel[starts[n_recordings]:starts[n_recordings + 1]]
    assert first.shape == again.shape and np.abs(first.astype(np.float32) - again.astype(np.float32)).mean() > 0.5
    np.testing.assert_array_equal(target[starts[0]:starts[1]], target[starts[n_recordings]:starts[n_recordings + 1]])


def test_training_sets_join_with_shifted_utterance_offsets():
    """train_lips.join_sets: frames in order, each set's utterance starts moved past the frames before it."""
    from facecast.runtime.workshop.motion.train_lips import join_sets

    def one_set(lengths, value):
        starts = np.cumsum([0] + lengths)
        return np.full((starts[-1], N_MELS), value, np.float16), np.full((starts[-1], 15), value, np.float16), starts

    mel, target, starts = join_sets([one_set([3, 2], 1), one_set([4], 2), one_set([1, 1, 1], 3)])
    np.testing.assert_array_equal(starts, [0, 3, 5, 9, 10, 11, 12])
    assert len(mel) == len(target) == 12 and mel.dtype == np.float16
    np.testing.assert_array_equal(mel[:, 0], [1] * 5 + [2] * 4 + [3] * 3)
    np.testing.assert_array_equal(target[:, 0], mel[:, 0])


def test_loss_weights_single_out_pauses_and_closures():
    """train_lips.loss_weights: `sil_weight` on frames mostly silence, `pp_weight` on frames mostly /p b m/,
    1 elsewhere (an even split between the two weighs 1: neither holds more than half)."""
    torch = pytest.importorskip("torch")
    from facecast.runtime.workshop.motion.train_lips import loss_weights

    sil, pp, aa = (np.eye(15, dtype=np.float32)[VISEME_NAMES.index(v)] for v in ("sil", "PP", "aa"))
    frames = torch.from_numpy(np.stack([sil, pp, aa, 0.5 * sil + 0.5 * pp, 0.6 * pp + 0.4 * aa]))
    np.testing.assert_allclose(loss_weights(frames, 2.0).numpy(), [2, 1, 1, 1, 1])
    np.testing.assert_allclose(loss_weights(frames, 2.0, 3.0).numpy(), [2, 3, 1, 1, 3])
    np.testing.assert_allclose(loss_weights(frames[None], 1.0, 1.0).numpy(), [[1, 1, 1, 1, 1]])


def test_dropout_acts_in_training_only(tmp_path):
    """train_lips.build_net(dropout=...): training-mode passes differ, eval-mode passes are deterministic and
    the same network as without dropout given the same weights; the ONNX export of a network in the middle of
    training is that eval-mode network (export checks onnxruntime against torch)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from facecast.runtime.workshop.motion.train_lips import build_net, export

    mean, std = np.zeros(N_MELS, np.float32), np.ones(N_MELS, np.float32)
    torch.manual_seed(0)
    net = build_net(mean, std, kernel=5, channels=8, hidden=8, layers=2, dropout=0.5)
    plain = build_net(mean, std, kernel=5, channels=8, hidden=8, layers=2)
    plain.load_state_dict(net.state_dict())
    mel = torch.randn(1, 4 + 20, N_MELS)
    with torch.no_grad():
        net.train()
        assert not torch.equal(net(mel)[0], net(mel)[0])
        net.eval()
        plain.eval()
        torch.testing.assert_close(net(mel)[0], net(mel)[0])
        torch.testing.assert_close(net(mel)[0], plain(mel)[0])
    net.train()
    export(net, tmp_path / "lips.onnx", lookahead=4, kernel=5, hidden=8, layers=2)
    exported = LipModel(tmp_path / "lips.onnx", device="cpu")
    mel_np = np.random.default_rng(1).normal(-5, 3, (30, N_MELS)).astype(np.float32)
    net.eval()
    with torch.no_grad():
        conv = torch.full((1, 4, N_MELS), LOG_FLOOR)
        ref = torch.softmax(net(torch.cat([conv, torch.from_numpy(mel_np)[None]], 1))[0], -1)[0].numpy()
    np.testing.assert_allclose(exported.step(mel_np), ref, atol=1e-4)
