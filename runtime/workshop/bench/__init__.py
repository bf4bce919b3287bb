"""Benchmarks behind `facecast bench`: each module measures one stage against the budget in
DESIGN.md ("Performance budget") and returns a JSON-ready dict; none of them asserts."""

from __future__ import annotations

import os
import platform

import numpy as np

SAMPLE_RATE_HZ = 16000


def machine_info() -> dict:
    """What a figure was measured on; `loadavg` tells whether the machine was quiet."""
    import zmq

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not on Windows
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "numpy": np.__version__,
        "loadavg": load,
    }


def speech_clip(duration_s: float) -> np.ndarray:
    """(n,) float32 16 kHz mono: the bundled sample speech, looped with 0.5 s pauses to duration_s."""
    from facecast.runtime.engine.audio.files import load_audio_16k
    from facecast.runtime.engine.config import SAMPLE_SPEECH

    speech = load_audio_16k(SAMPLE_SPEECH)
    unit = np.concatenate([speech, np.zeros(SAMPLE_RATE_HZ // 2, np.float32)])
    n = int(duration_s * SAMPLE_RATE_HZ)
    return np.tile(unit, n // len(unit) + 1)[:n].astype(np.float32)
