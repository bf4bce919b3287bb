"""The lip model's feature augmentation (augment.augment_chunks): a vocal-tract warp moves spectral peaks the
way a shorter or longer vocal tract does, the EQ curve is smooth and bounded, and digital silence stays silent."""

import numpy as np
import pytest
import torch
from facecast.runtime.engine.motion.features import LOG_FLOOR, N_MELS, log_mel
from facecast.runtime.workshop.motion import augment as ma


def _tone_mel(freq_hz: float) -> np.ndarray:
    t = np.arange(16000) / 16000
    return log_mel((0.1 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32))


def test_band_centres_ascend_over_the_spectrum():
    assert ma.BAND_HZ.shape == (N_MELS,) and np.all(np.diff(ma.BAND_HZ) > 0)
    assert 0 < ma.BAND_HZ[0] < 100 and 7000 < ma.BAND_HZ[-1] < 8000


def test_no_warp_is_the_identity():
    lo, hi, frac = ma.warp_weights(1.0)
    np.testing.assert_array_equal(lo, np.arange(N_MELS))
    np.testing.assert_allclose(frac, 0.0, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_warp_moves_a_formant_by_alpha(alpha):
    """A 2 kHz tone, warped by alpha, peaks in the band where a (2 * alpha) kHz tone peaks."""
    lo, hi, frac = ma.warp_weights(alpha)
    mel = _tone_mel(2000.0)[50]
    warped = (1 - frac) * mel[lo] + frac * mel[hi]
    assert abs(int(np.argmax(warped)) - int(np.argmax(_tone_mel(2000.0 * alpha)[50]))) <= 1


def test_eq_curve_is_bounded_and_smooth():
    rng = np.random.default_rng(0)
    for _ in range(50):
        curve_db = ma.eq_curve_ln(rng, 8.0) / ma._DB_TO_LN_POWER
        assert np.abs(curve_db).max() <= 8.0 + 1e-4
        assert np.abs(np.diff(curve_db)).max() < 1.0  # three cosines over 80 bands: no band-to-band jumps


def test_chunks_are_perturbed_independently_and_silence_stays_floor():
    rng = np.random.default_rng(1)
    speech = torch.from_numpy(np.stack([_tone_mel(300.0 * (i + 1))[:40] for i in range(8)]))
    silence = torch.full((2, 40, N_MELS), LOG_FLOOR)
    out = ma.augment_chunks(torch.cat([speech, silence]), rng, warp=0.1, eq_db=8.0, p=1.0)
    assert out.shape == (10, 40, N_MELS) and out.dtype == torch.float32
    torch.testing.assert_close(out[8:], silence)
    changed = (out[:8] - speech).abs().mean(dim=(1, 2))
    assert bool((changed > 0.05).all())
    unchanged = ma.augment_chunks(speech, rng, warp=0.1, eq_db=8.0, p=0.0)
    torch.testing.assert_close(unchanged, speech)
