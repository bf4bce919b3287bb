"""Finding the mark: estimate the scale from the tile's periodicity, fold the frame into one tile, and
phase-correlate it with the keyed patterns.

Any crop is a cyclic shift of the repeated tile, so the correlation peak's position absorbs it; a rescale
(downscale, a scaled OBS canvas) changes the repeat period, which the autocorrelation of the frame's
high-passed luma shows as peaks at lags (L, 0) and (0, L). Each candidate period is checked by folding
the frame at that scale: a marked frame gives one sharp sync peak whose height, in standard deviations of
the correlation surface, is the detection score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

from .pattern import (DATA_PATTERNS, SHIFT_STEP_PX, TILE_PX, Payload, band_mask, bits_from_symbols,
                      pattern_bins, patterns)

# Native tile period can appear from 0.3x (a 512 frame in a 1080p canvas captured at 720p) to 1.35x
# (a 10 % crop blown back up to full size)
MIN_SCALE, MAX_SCALE = 0.3, 1.35
CANDIDATES = 6            # autocorrelation peaks checked by folding
WINDOW_PX = 512           # search windows over frames larger than a rendered frame
MAX_SIDE_PX = 2048        # larger frames are downscaled before the search (bounds the time per frame)
REFINE = (-0.006, -0.003, 0.0, 0.003, 0.006)  # relative scale steps tried around each candidate
# Sync score (peak / std of the correlation surface) above which the mark is called present. Unmarked
# images top out near 5.5 over all scales and shifts tried (BENCHMARKS.md, provenance false positives).
PRESENT_SCORE = 7.0
# A lower score still counts when the payload's CRC-16 also checks out (chance 2^-16 on unmarked input)
PRESENT_SCORE_WITH_PAYLOAD = 5.5


@dataclass
class Detection:
    """present: the mark was found. score: sync peak height in standard deviations (≈ 0-5 unmarked).
    confidence: 0..1, a monotone map of the score. payload: what the mark says, None if unreadable.
    scale: frame px per native mark px (1.0 = untouched 512 frame, 0.5 = downscaled to 256)."""

    present: bool
    score: float
    confidence: float
    payload: Payload | None
    scale: float

    def as_dict(self) -> dict:
        return {"present": self.present, "score": round(self.score, 2), "confidence": round(self.confidence, 4),
                "payload": None if self.payload is None else {
                    "generator": "facecast", "version": self.payload.version,
                    "installation_id": self.payload.installation_id},
                "scale": round(self.scale, 4)}


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB or (H, W) gray -> (H, W) float32 BT.601 luma in 0..255."""
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    rgb = rgb[..., :3].astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _highpass(y: np.ndarray) -> np.ndarray:
    # minus a 9×9 box mean: removes shading and flat areas, keeps the mark's band (periods 6-33 px)
    return y - uniform_filter(y, size=9, mode="reflect")


def _period_candidates(highpassed: list[np.ndarray]) -> list[float]:
    """Candidate tile periods in frame px, strongest autocorrelation first."""
    acc = None
    for hp in highpassed:
        h, w = hp.shape
        spec = np.abs(np.fft.rfft2(hp, s=(2 * h, 2 * w))) ** 2  # zero padding: linear, not circular, lags
        acc = spec if acc is None or acc.shape != spec.shape else acc + spec
    acf = np.fft.irfft2(acc)
    acf /= max(float(acf[0, 0]), 1e-9)  # a flat frame has no energy at all
    lo = int(np.floor(TILE_PX * MIN_SCALE))
    hi = min(int(np.ceil(TILE_PX * MAX_SCALE)), acf.shape[0] // 2 - 2, acf.shape[1] // 2 - 2)
    if hi <= lo:
        return []
    lags = np.arange(lo - 1, hi + 2)
    # a period shows on both axes; the larger lag-products suppress one-axis stripes of test patterns
    prof = acf[lags, 0] + acf[0, lags] + 0.5 * (acf[lags, lags] + acf[lags, -lags])
    prof = prof - np.convolve(prof, np.ones(9) / 9, mode="same")   # subtract the local trend
    peaks = [i for i in range(1, len(prof) - 1) if prof[i] >= prof[i - 1] and prof[i] > prof[i + 1]]
    peaks.sort(key=lambda i: -prof[i])
    out = []
    for i in peaks[:CANDIDATES]:
        a, b, c = prof[i - 1], prof[i], prof[i + 1]
        frac = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        out.append(float(lags[i] + np.clip(frac, -0.5, 0.5)))
    return out


def _fold(highpassed: list[np.ndarray], scale: float) -> np.ndarray:
    """Resample each frame by 1/scale onto the native grid and sum all TILE_PX blocks of all frames."""
    acc = np.zeros((TILE_PX, TILE_PX), np.float64)
    for hp in highpassed:
        h, w = hp.shape
        nh, nw = max(1, int(round(h / scale))), max(1, int(round(w / scale)))
        native = np.asarray(Image.fromarray(hp, mode="F").resize((nw, nh), Image.BILINEAR), np.float32)
        ph, pw = -(-nh // TILE_PX) * TILE_PX, -(-nw // TILE_PX) * TILE_PX
        padded = np.zeros((ph, pw), np.float32)
        padded[:nh, :nw] = native
        acc += padded.reshape(ph // TILE_PX, TILE_PX, pw // TILE_PX, TILE_PX).sum(axis=(0, 2))
    return acc


_BAND = band_mask((TILE_PX, TILE_PX))


def _correlate(folded_hat: np.ndarray, k: int) -> np.ndarray:
    """Phase correlation surface (TILE_PX, TILE_PX) of the whitened folded tile with pattern k: only k's
    own bins take part, each with unit weight."""
    ref = _pattern_hats()[k]
    return np.fft.irfft2(folded_hat * np.conj(ref), s=(TILE_PX, TILE_PX))


_HATS: list[np.ndarray] = []


def _pattern_hats() -> list[np.ndarray]:
    if not _HATS:
        owner = pattern_bins()
        for k, p in enumerate(patterns()):
            hat = np.fft.rfft2(p)
            _HATS.append(np.where(owner == k, hat / np.maximum(np.abs(hat), 1e-12), 0))
    return _HATS


def _peak(surface: np.ndarray) -> tuple[float, float, float]:
    """(score, row, col): peak height in surface std units, sub-pixel position."""
    flat = int(np.argmax(surface))
    r, c = divmod(flat, TILE_PX)
    std = float(surface.std()) or 1.0
    score = float((surface[r, c] - surface.mean()) / std)

    def sub(a: float, b: float, cc: float) -> float:
        d = a - 2 * b + cc
        return float(np.clip(0.5 * (a - cc) / d, -0.5, 0.5)) if d != 0 else 0.0

    dr = sub(surface[r - 1, c], surface[r, c], surface[(r + 1) % TILE_PX, c])
    dc = sub(surface[r, c - 1], surface[r, c], surface[r, (c + 1) % TILE_PX])
    return score, r + dr, c + dc


def _whitened_hat(folded: np.ndarray) -> np.ndarray:
    hat = np.fft.rfft2(folded - folded.mean())
    return np.where(_BAND, hat / np.maximum(np.abs(hat), 1e-9), 0.0)


def _read_payload(hat: np.ndarray, sync_rc: tuple[float, float]) -> Payload | None:
    shifts = []
    for k in range(DATA_PATTERNS):
        _, r, c = _peak(_correlate(hat, 1 + k))
        rel = [(v - s) % TILE_PX for v, s in ((r, sync_rc[0]), (c, sync_rc[1]))]
        shifts.append(tuple(int(round(v / SHIFT_STEP_PX)) % (TILE_PX // SHIFT_STEP_PX) * SHIFT_STEP_PX
                            for v in rel))
    return Payload.from_bits(bits_from_symbols(shifts))


def confidence(score: float) -> float:
    """Sync score -> 0..1: 0.5 at the lower threshold, ~0.99 at PRESENT_SCORE + 2."""
    return float(1.0 / (1.0 + np.exp(-1.6 * (score - PRESENT_SCORE_WITH_PAYLOAD - 0.5))))


def _windows(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """The whole frame, plus WINDOW_PX squares at half-window steps when the frame is larger than one: a mark
    that fills only part of a big frame (a face in a 1080p OBS canvas) is found in the window around it,
    without the rest of the canvas adding noise."""
    h, w = shape
    out = [(slice(0, h), slice(0, w))]
    if max(h, w) > WINDOW_PX * 1.25:
        step = WINDOW_PX // 2
        for y in range(0, max(1, h - WINDOW_PX + step), step):
            for x in range(0, max(1, w - WINDOW_PX + step), step):
                out.append((slice(y, min(h, y + WINDOW_PX)), slice(x, min(w, x + WINDOW_PX))))
    return out


def _best_in(hps: list[np.ndarray]) -> tuple[float, float, np.ndarray, tuple[float, float]] | None:
    periods = _period_candidates(hps)
    scales = [p / TILE_PX for p in periods] + [1.0, 0.5]  # untouched and halved: common, always tried
    best = None
    tried = set()
    for base in scales:
        for step in REFINE:
            scale = round(base * (1 + step), 4)
            if scale in tried or not MIN_SCALE <= scale <= MAX_SCALE:
                continue
            tried.add(scale)
            hat = _whitened_hat(_fold(hps, scale))
            score, r, c = _peak(_correlate(hat, 0))
            if best is None or score > best[0]:
                best = (score, scale, hat, (r, c))
    return best


def detect(frames: list[np.ndarray]) -> Detection:
    """frames: one image or several frames of one video, each (H, W, 3) uint8 RGB or (H, W) gray, all the
    same size (a video's frames share one geometry, so their evidence adds up). Frames larger than
    MAX_SIDE_PX are downscaled first."""
    if not frames:
        raise ValueError("detect needs at least one frame")
    ys = [luma(f) for f in frames]
    h, w = ys[0].shape
    if max(h, w) > MAX_SIDE_PX:
        k = MAX_SIDE_PX / max(h, w)
        size = (max(1, int(w * k)), max(1, int(h * k)))
        ys = [np.asarray(Image.fromarray(y, mode="F").resize(size, Image.BILINEAR), np.float32) for y in ys]
    hps = [_highpass(y) for y in ys]
    best = None
    for rows, cols in _windows(hps[0].shape):
        found = _best_in([hp[rows, cols] for hp in hps])
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    if best is None:
        return Detection(False, 0.0, 0.0, None, 0.0)
    score, scale, hat, rc = best
    payload = _read_payload(hat, rc) if score >= PRESENT_SCORE_WITH_PAYLOAD else None
    present = score >= PRESENT_SCORE or (payload is not None)
    return Detection(present, score, confidence(score), payload, scale)
