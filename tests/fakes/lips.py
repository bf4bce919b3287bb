"""Stand-in lip models for the stream tests: the interface of motion.lips.LipModel (lookahead_frames, frames_in,
reset, step(mel (T, 80)) -> (T, 15) rows over VISEME_NAMES) with rows that say which frame they describe."""

from __future__ import annotations

import numpy as np

from facecast.bridge.schema import VISEME_NAMES


class IndexLips:
    """Lookahead L (default 4): the row for frame k puts all weight on viseme (k mod 14) + 1 (the pause for the
    frames before the stream), so a motion frame's viseme mean says which rows it used."""

    def __init__(self, lookahead_frames: int = 4):
        self.lookahead_frames = lookahead_frames
        self.frames_in = 0

    def reset(self):
        self.frames_in = 0

    def row(self, k: int) -> np.ndarray:
        out = np.zeros(len(VISEME_NAMES), np.float32)
        out[(k % 14) + 1 if k >= 0 else 0] = 1.0
        return out

    def step(self, mel):
        first = self.frames_in - self.lookahead_frames
        self.frames_in += len(mel)
        return np.stack([self.row(first + i) for i in range(len(mel))]) if len(mel) else \
            np.zeros((0, len(VISEME_NAMES)), np.float32)


class ConstantLips(IndexLips):
    """Every frame the same row: weights {viseme name: weight} summing to 1."""

    def __init__(self, weights: dict[str, float], lookahead_frames: int = 4):
        super().__init__(lookahead_frames)
        self._row = np.array([weights.get(name, 0.0) for name in VISEME_NAMES], np.float32)

    def row(self, k: int) -> np.ndarray:
        return self._row
