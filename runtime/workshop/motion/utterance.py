"""MotionUtterance: one evaluation utterance, audio with its phone timings (synthetic or forced-aligned real speech)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import speechdata as sd


@dataclass
class MotionUtterance:
    """audio: (n,) float32 16 kHz as the lip model hears it; speech: the phones (seconds) and text;
    group: "language/condition" for per-group reports (e.g. "en-us/reverb", "zh/real"), "" when untagged."""

    audio: np.ndarray
    speech: sd.PhoneTimedSpeech
    group: str = ""
