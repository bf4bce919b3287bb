"""Whole audio files for offline work (bake, render, benchmarks): `load_audio_16k(path) -> (n,) float32`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .resample import StreamResampler, to_mono
from .sources import AudioFileError, check_audio_path

log = logging.getLogger(__name__)


def load_audio_16k(path: str | Path) -> np.ndarray:
    """Any file libsndfile reads (wav/flac/ogg, any rate, any channels) -> (n,) float32 16 kHz mono.

    Raises AudioFileError for a missing, unreadable or empty file. NaN / infinite samples (possible only in
    float files) are set to 0 and counted in a logged warning: one bad sample must not void a long bake,
    and a NaN would otherwise spread through the resampler and the mel features.
    """
    import soundfile as sf

    check_audio_path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}; convert it with "
                             f"`sox {path} -r 16000 -c 1 out.wav`") from None
    if len(data) == 0:
        raise AudioFileError(f"audio file {path} contains no samples (0 frames); record or export it again")
    bad = ~np.isfinite(data)
    if bad.any():
        log.warning("%s: %d non-finite samples (NaN/inf) set to 0", path, int(bad.sum()))
        data = np.where(bad, np.float32(0.0), data)
    mono = to_mono(data)
    if rate == 16000:
        return mono.astype(np.float32)
    resampler = StreamResampler(int(rate), 16000)
    return np.concatenate([resampler.process(mono), resampler.flush()]).astype(np.float32)
