"""combine_lips: ensembles and logit biases of exported lip models, run through lips.LipModel as the engine runs
them (streamed in chunks, state carried)."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.bridge.schema import VISEME_NAMES
from facecast.runtime.engine.motion.features import N_MELS
from facecast.runtime.engine.motion.lips import LipModel

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from facecast.runtime.workshop.motion.combine_lips import ensemble, fit_bias, with_bias
from facecast.runtime.workshop.motion.train_lips import build_net, export


def _exported(tmp_path, name: str, seed: int, hidden: int, lookahead: int = 4):
    torch.manual_seed(seed)
    net = build_net(np.zeros(N_MELS, np.float32), np.ones(N_MELS, np.float32), kernel=5, channels=8,
                    hidden=hidden, layers=2)
    path = tmp_path / f"{name}.onnx"
    export(net, path, lookahead=lookahead, kernel=5, hidden=hidden, layers=2)
    return path


def _streamed(path, mel: np.ndarray) -> np.ndarray:
    model = LipModel(path, device="cpu")
    return np.concatenate([model.step(mel[i:i + 7]) for i in range(0, len(mel), 7)])


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("members")
    return [_exported(tmp, "a", 0, 8), _exported(tmp, "b", 1, 12), _exported(tmp, "c", 2, 8)]


def test_ensemble_streams_as_the_mean_of_its_members(members, tmp_path):
    """Members of different hidden sizes; the ensemble's GRU state is theirs side by side, so streaming in
    chunks keeps each member's state apart (a shared or mixed state would break this after the first chunk)."""
    out = tmp_path / "ens.onnx"
    ensemble(members, out)
    mel = np.random.default_rng(5).normal(-5, 3, (60, N_MELS)).astype(np.float32)
    got = _streamed(out, mel)
    expected = np.mean([_streamed(p, mel) for p in members], axis=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)
    model = LipModel(out, device="cpu")
    assert model.lookahead_frames == 4
    assert model._h_shape == (2, 1, 28)


def test_ensemble_refuses_members_that_show_different_frames(members, tmp_path):
    late = _exported(tmp_path, "late", 3, 8, lookahead=6)
    with pytest.raises(ValueError, match="lookahead"):
        ensemble([members[0], late], tmp_path / "bad.onnx")
    with pytest.raises(ValueError, match="at least two"):
        ensemble(members[:1], tmp_path / "one.onnx")


def test_bias_shifts_the_logits(members, tmp_path):
    bias = np.linspace(-1.0, 1.0, len(VISEME_NAMES))
    out = tmp_path / "biased.onnx"
    with_bias(members[1], out, bias)
    mel = np.random.default_rng(6).normal(-5, 3, (40, N_MELS)).astype(np.float32)
    z = np.log(_streamed(members[1], mel).astype(np.float64)) + bias
    expected = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(_streamed(out, mel), expected, atol=1e-5)
    with pytest.raises(ValueError, match="finite"):
        with_bias(members[1], tmp_path / "nan.onnx", np.full(len(VISEME_NAMES), np.nan))


def test_fitted_bias_undoes_a_known_shift():
    """Rows drawn from a known distribution, then mis-weighted by a known bias: the fit recovers minus that
    bias (up to the constant a softmax ignores)."""
    rng = np.random.default_rng(0)
    k = len(VISEME_NAMES)
    logits = rng.normal(0, 2, (4000, k))
    p_true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    targets = np.eye(k)[[rng.choice(k, p=row) for row in p_true]]
    shift = rng.normal(0, 1, k)
    skewed = np.exp(logits + shift) / np.exp(logits + shift).sum(1, keepdims=True)
    b = fit_bias(skewed, targets, sil_weight=1.0)
    np.testing.assert_allclose(b, -(shift - shift.mean()), atol=0.25)
    assert abs(b.mean()) < 1e-9
