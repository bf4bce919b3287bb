"""A portrait that smiles with its teeth showing: where its lips really end, and the photo without the teeth.

    teeth = teeth_mask(avatar.image, avatar.landmarks)         # (S, S) bool, all False for a closed mouth
    lmk = snap_inner_lips(avatar.landmarks, teeth)             # inner-lip landmarks on the lip edges
    image = cover_teeth(avatar.image, lmk, teeth)              # teeth and mouth gap painted over with lip

The face mesh places the inner-lip landmarks of a broad, toothy smile inside the lips themselves
(on the Obama portrait landmarks 13 and 14 sit mid-lip, 6 px above and below the teeth), so
closing the mesh's inner-lip polygon leaves the teeth's edges above and below the seam and squeezes
half of each lip away. Snapping those landmarks onto the teeth's edges makes the polygon the real
opening; closing it then joins lip to lip. The segments between landmarks are straight while the
teeth's edge is scalloped (incisors, gaps at the gum line), so the photo's teeth are also painted out
of the source picture, each column filled with the lip colour just above and below it: whatever
slivers of it survive the squeeze, or a fold of the warp turns up, read as lip. When the mouth
opens, the painted interior (mouth_interior.py) covers the opening.

Everything here runs once, when the renderer is built.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from facecast.runtime.engine.avatar.mesh import (INNER_LIP, LOWER_INNER_LIP, OUTER_LIP, UPPER_INNER_LIP)

MIN_TEETH_MW2 = 0.02       # fewer teeth pixels than this share of mouth width squared: no teeth showing
TEETH_SAT = 0.75           # teeth: saturation below this share of the lips' ...
TEETH_LIGHT = 0.3          # ... and lighter than the lips by this share of the way to white
WEAK_SAT, WEAK_LIGHT = 0.9, 0.1   # a tooth in shadow, or the soft edge of one, next to those
GAP_DARK = 0.55            # the mouth's dark inside: darker than this share of the lips' luminance
SNAP_COLUMNS_PX = 2        # a landmark snaps to the teeth's edge measured over its column +- this
FILL_GROW_PX = 2           # the teeth's fill reaches this far past them
FILL_REACH_PX = 4          # and at most this far past the (snapped) inner-lip polygon
MAX_SNAP_GAP = 0.45        # a lip's point moves in by at most this share of the landmarks' gap
SHADOW_PX = 1.0            # the lower teeth's edge casts a thin shadow line onto the lower lip


def _polygon(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    mask = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(mask).polygon([tuple(q) for q in pts.astype(np.float64)], fill=255)
    return np.asarray(mask) > 0


def _lip_stats(image: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    from facecast.runtime.engine.avatar.mouth_interior import _lip_colour

    lip = _lip_colour(image, landmarks)
    return float(lip.mean()), float(lip.max() - lip.min())


def teeth_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(S, S) bool: inside the outer lip contour, the photo's teeth (light and unsaturated next to its
    lips) where they reach into the inner-lip polygon. All False when fewer than MIN_TEETH_MW2 * mouth
    width^2 teeth pixels show (closed lips, or a dark gap only: nothing for the landmarks to be wrong
    about)."""
    p = landmarks[:, :2]
    img = image.astype(np.float32)
    lum, sat = img.mean(2), img.max(2) - img.min(2)
    lum_lip, sat_lip = _lip_stats(image, landmarks)
    outer = _polygon(lum.shape, p[OUTER_LIP])
    teeth = outer & (sat < TEETH_SAT * sat_lip) & (lum > lum_lip + TEETH_LIGHT * (255.0 - lum_lip))
    mouth_w = float(np.linalg.norm(p[61] - p[291]))
    if teeth.sum() < MIN_TEETH_MW2 * mouth_w ** 2:
        return np.zeros_like(teeth)
    # grown from those seeds over what is at least a little tooth-like (the greyer teeth towards the
    # corners, their soft edges), but only where they reach into the mouth opening: a light glint on
    # a lip is no tooth
    weak = outer & (sat < WEAK_SAT * sat_lip) & (lum > lum_lip + WEAK_LIGHT * (255.0 - lum_lip))
    labels, _ = ndimage.label(weak | teeth)
    keep = np.unique(labels[teeth & _polygon(lum.shape, p[INNER_LIP])])
    return np.isin(labels, keep[keep > 0])


def _mouth_gap(image: np.ndarray, landmarks: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """(S, S) bool: `teeth` and the dark inside of the mouth joined to them, within the outer lips."""
    lum = image.astype(np.float32).mean(2)
    dark = _polygon(lum.shape, landmarks[OUTER_LIP, :2]) & (lum < GAP_DARK * _lip_stats(image, landmarks)[0])
    labels, _ = ndimage.label(dark | teeth)
    keep = np.unique(labels[teeth])
    return np.isin(labels, keep[keep > 0])


def snap_inner_lips(landmarks: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """(468, 3) landmarks with each inner-lip point (corners excepted) that has teeth in its column
    moved vertically in onto their edge: upper points down to the teeth's top, lower points up to
    their bottom (+ SHADOW_PX). Only inwards: a point outside the teeth is the lip's own highlight,
    or the landmarks are right. Unchanged when `teeth` is empty."""
    out = landmarks.copy()
    if not teeth.any():
        return out
    p = landmarks[:, :2].astype(np.float64)
    w = teeth.shape[1]

    def edge(x: float, top: bool) -> float | None:
        c0, c1 = max(int(x) - SNAP_COLUMNS_PX, 0), min(int(x) + SNAP_COLUMNS_PX + 1, w)
        ends = []
        for c in range(c0, c1):
            rows = np.flatnonzero(teeth[:, c])
            if len(rows) >= 2:
                ends.append(rows[0] if top else rows[-1] + 1 + SHADOW_PX)
        return float(np.median(ends)) if ends else None

    def line_y(q: np.ndarray, idx: list[int], x: float) -> float:
        xy = q[idx, :2]
        order = np.argsort(xy[:, 0])
        return float(np.interp(x, xy[order, 0], xy[order, 1]))

    def snapped(idx: list[int], top: bool) -> np.ndarray:
        """(len(idx),) inward moves in px (down for the upper lip, up for the lower), each at most
        MAX_SNAP_GAP of the landmarks' gap there; a point with no teeth in its column takes half of its
        neighbours' mean move, so that the contour has no kink at the last tooth."""
        move = np.full(len(idx), np.nan)
        for k, i in enumerate(idx):
            y = edge(p[i, 0], top)
            if y is None:
                continue
            gap = line_y(p, LOWER_INNER_LIP, p[i, 0]) - line_y(p, UPPER_INNER_LIP, p[i, 0])
            move[k] = np.clip(y - p[i, 1] if top else p[i, 1] - y, 0, MAX_SNAP_GAP * max(gap, 0.0))
        known = np.nan_to_num(move)
        nb = (np.r_[0.0, known[:-1]] + np.r_[known[1:], 0.0]) / 2
        return np.where(np.isnan(move), 0.5 * nb, move)

    up, low = UPPER_INNER_LIP[1:-1], LOWER_INNER_LIP
    out[up, 1] += snapped(up, top=True)
    out[low, 1] -= snapped(low, top=False)
    # the lips never cross: each lower point stays at or below the (moved) upper contour
    up_y = np.interp(out[low, 0], *out[up][np.argsort(out[up, 0])][:, :2].T)
    out[low, 1] = np.maximum(out[low, 1], np.minimum(up_y, landmarks[low, 1]))
    return out


def cover_teeth(image: np.ndarray, landmarks: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8: `image` with the teeth, the dark mouth joined to them, and the inner-lip
    polygon of `landmarks` (snapped) filled, per column, with the upper lip's colour just above the
    opening down to its middle and the lower lip's just below it from there (both smoothed along the
    mouth so that the fill has no vertical streaks). Unchanged when `teeth` is empty."""
    if not teeth.any():
        return image
    opening = _polygon(teeth.shape, landmarks[INNER_LIP, :2])
    # a little past the teeth: the soft edge between a tooth and the lip would leave an outline
    fill = ndimage.binary_dilation(_mouth_gap(image, landmarks, teeth), iterations=FILL_GROW_PX) | opening
    # near the opening only: a lip's highlight joined to a tooth is lip
    fill &= _polygon(teeth.shape, landmarks[OUTER_LIP, :2]) & ndimage.binary_dilation(opening, iterations=FILL_REACH_PX)
    cols = np.flatnonzero(fill.any(0))
    top = np.argmax(fill[:, cols], axis=0)                                  # first filled row per column
    bottom = fill.shape[0] - 1 - np.argmax(fill[::-1, cols], axis=0)        # last
    img = image.astype(np.float32)
    h = image.shape[0]
    # each lip's colour: the median of the 3 rows next to the opening, smoothed along the mouth
    above = np.median(np.stack([img[np.clip(top - k, 0, h - 1), cols] for k in (1, 2, 3)]), axis=0)
    below = np.median(np.stack([img[np.clip(bottom + k, 0, h - 1), cols] for k in (1, 2, 3)]), axis=0)
    above = ndimage.gaussian_filter1d(above, 2.0, axis=0, mode="nearest")
    below = ndimage.gaussian_filter1d(below, 2.0, axis=0, mode="nearest")
    out = img.copy()
    for k, c in enumerate(cols):
        rows = np.flatnonzero(fill[top[k]:bottom[k] + 1, c]) + top[k]
        t = (rows - top[k] + 0.5) / max(bottom[k] - top[k] + 1, 1)       # 0..1 down the opening
        mix = np.clip((t - 0.35) / 0.3, 0, 1)[:, None]                   # lips meet mid-opening
        out[rows, c] = above[k] * (1 - mix) + below[k] * mix
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
