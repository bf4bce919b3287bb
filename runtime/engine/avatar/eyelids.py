"""Closed-lid skin over a blinking eye.

    lids = EyelidPainter(avatar.image, avatar.landmarks, device)
    lids.paint(region, origin_xy, "right", crease_xy, lash_line_xy, blink)   # in place, per eye

The warp brings the upper lid (and its lashes) down to the lower lid by stretching the skin above
the crease, which in most portraits is the shadowed eye socket: stretched, it streaks and reads as
a dim, half-open eye. Over the band between where the crease was and where the lash line now is,
in proportion to the blink, this paints:

  - the lid: the warp's own pixels averaged along the lid (no streaks), pulled towards the lid skin
    colour (the skin above the crease, towards the brow, and the cheek), halfway by mid-lid and all
    the way where the warp shows something far from skin (the dark iris patch of a painting, a glint
    on glasses); at the crease the frame's own pixels stay, so the lid has no outline;
  - grain: that skin sample's fine texture, one sample per pixel, so the lid is not a smooth patch;
  - shading: a little lighter mid-lid (the eyeball under it), darker at the margin above the lashes;
  - above the crease, only where the stretched socket is much darker than skin (a painting's eye is
    one dark patch up to the brow): the lid skin, fading out upwards;
  - under the line: lower-lid skin over what the warp left of the eye;
  - the lash line: a dark curve on the lid line, thickest towards the outer corner, with a fringe
    of lashes hanging below it, in the photo's own lash colour.

Sizes scale with the eye width (about 40 px in a 512 px head-and-shoulders crop).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from facecast.runtime.engine.avatar.mesh import EYE_LIDS

CHEEK_SKIN = {"right": [118, 117, 50, 101], "left": [347, 346, 280, 330]}
BROW_SKIN = {"right": [223, 224, 225], "left": [443, 444, 445]}
BROW_LOWER = {"right": [46, 53, 52, 65, 55], "left": [276, 283, 282, 295, 285]}
TEXTURE_BAND = (0.08, 0.5)             # lid skin sample: rows this far from the crease to the brow
LID_ROWS = 0.6                         # the sample's height (mirrored), eye widths: more than a closed lid's
REF_SHADE = 0.92                       # the lid sits in the brow's shade: a little darker than the skin around
CHEEK_SHARE = 0.5                      # lid skin colour: geometric mix of the skin above the crease and the cheek
TAKE_MID = 0.35                        # share of that colour in the lid's, mid-lid
STRAY = (0.15, 0.35)                   # |log brightness ratio| to it at which the warp's pixels start / stop counting
LASH_HALF_PX = (1.0, 1.2)              # lash line half-thickness (40 px eye), + this two thirds of the way out
LASH_ALPHA = 0.9
FRINGE_PX = 2.5                        # lashes hanging below the line
LOW_SKIN_FROM = {k: EYE_LIDS[k]["lower2"] + CHEEK_SKIN[k] for k in EYE_LIDS}   # lower-lid skin: under the eye
ABOVE_REACH = 0.6                      # lid skin above the crease, where the socket is no skin: share of the brow gap
COVER_PX = 1.5                         # lower-lid skin painted under the line
COVER_MAX_PX = 4.0                     # and down to this where the frame there is no skin
OUTER_AT_LOW_X = {"right": True, "left": False}   # the person's right eye has its outer corner on the image left


def _skin(image: np.ndarray, landmarks: np.ndarray, idx: list[int]) -> np.ndarray:
    xy = np.clip(np.round(landmarks[idx, :2]).astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return np.median(image[xy[:, 1], xy[:, 0]].astype(np.float32), axis=0)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """smoothstep of x clamped to 0..1."""
    x = x.clamp(0, 1)
    return x * x * (3 - 2 * x)


def _polyline_y(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    return np.interp(x, points[order, 0], points[order, 1])


def lid_texture(image: np.ndarray, landmarks: np.ndarray, side: str) -> np.ndarray:
    """(rows, columns, 3) float32 0..255: the skin above one eye's crease at one sample per pixel, row 0
    next to the crease. The band there is only a few pixels tall, so its rows are mirrored down to
    LID_ROWS eye widths (a stretched sample would streak). Pixels far from the band's median
    brightness (a glasses rim, brow hairs, a glint) are replaced by the median colour: only skin remains."""
    crease = landmarks[EYE_LIDS[side]["upper2"], :2].astype(np.float64)
    brow = landmarks[BROW_LOWER[side], :2].astype(np.float64)
    x = np.arange(np.floor(crease[:, 0].min()), np.ceil(crease[:, 0].max()) + 1.0) + 0.5
    yc = _polyline_y(crease, x)
    yb = np.minimum(_polyline_y(brow, x), yc - 2.0)      # a brow below the crease (a frown) still leaves a band
    t0, t1 = TEXTURE_BAND
    band_px = max(2, int(np.median(yc - yb) * (t1 - t0)))
    eye_w = float(np.ptp(crease[:, 0]))
    k = np.arange(max(int(LID_ROWS * eye_w), band_px)) % (2 * band_px - 2)
    k = np.where(k < band_px, k, 2 * band_px - 2 - k)     # 0, 1, .. band_px - 1, .. 1, 0, 1, ..
    ys = (yc - t0 * (yc - yb))[None] - k[:, None]         # row 0 just above the crease, then up and back
    xs = np.broadcast_to(x[None], ys.shape)
    img = image.astype(np.float32)
    tex = np.stack([ndimage.map_coordinates(img[..., c], [ys - 0.5, xs - 0.5], order=1, mode="nearest")
                    for c in range(3)], -1)
    lum = tex.mean(-1)
    med = np.median(lum)
    odd = (lum < 0.8 * med) | (lum > 1.25 * med)
    tex[odd] = np.median(tex[~odd], axis=0) if (~odd).any() else np.median(tex.reshape(-1, 3), axis=0)
    return ndimage.gaussian_filter(tex, (0.5, 0.5, 0))       # soften the seams of replaced pixels


class EyelidPainter:
    """Per-portrait lid skin and lash colours, made once; paint() per eye per frame."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, device: torch.device):
        self.device = device
        self.grain: dict[str, torch.Tensor] = {}        # (3, rows, cols) lid skin sample over its local mean, ~1
        self.skin: dict[str, torch.Tensor] = {}         # (3, 1, 1) lid skin colour
        self.low_skin: dict[str, torch.Tensor] = {}     # (3, 1, 1) lower-lid skin colour
        self.eye_w: dict[str, float] = {}
        self.brow_gap_px: dict[str, float] = {}         # crease to the brow's lower edge, at rest
        p = landmarks[:, :2]
        for side in ("right", "left"):
            tex = lid_texture(image, landmarks, side)
            grain = np.clip(tex / ndimage.uniform_filter(tex, (3, 3, 1), mode="nearest"), 0.96, 1.04)
            self.grain[side] = torch.tensor(grain, dtype=torch.float32, device=device).permute(2, 0, 1)
            band = tex.reshape(-1, 3).mean(0)
            cheek = _skin(image, landmarks, CHEEK_SKIN[side])
            lid_skin = REF_SHADE * band ** (1 - CHEEK_SHARE) * cheek ** CHEEK_SHARE
            self.skin[side] = torch.tensor(lid_skin, dtype=torch.float32, device=device).view(3, 1, 1)
            # the lower lid's skin: the ring under the eye and the cheek below it, a little shaded
            low = _skin(image, landmarks, LOW_SKIN_FROM[side])
            self.low_skin[side] = torch.tensor(0.95 * low, dtype=torch.float32, device=device).view(3, 1, 1)
            corners = EYE_LIDS[side]["corners"]
            self.eye_w[side] = float(np.linalg.norm(p[corners[0]] - p[corners[1]]))
            crease, brow = p[EYE_LIDS[side]["upper2"]], p[BROW_LOWER[side]]
            x = np.linspace(crease[:, 0].min(), crease[:, 0].max(), 9)
            self.brow_gap_px[side] = float(np.median(_polyline_y(crease, x) - _polyline_y(brow, x)).clip(2, None))
        lid = landmarks[[159, 158, 160, 386, 385, 387], :2]
        xy = np.clip(np.round(lid).astype(int), 0, np.array(image.shape[1::-1]) - 1)
        dark = np.percentile(image[xy[:, 1], xy[:, 0]].astype(np.float32), 20, axis=0)
        skin = 0.5 * _skin(image, landmarks, CHEEK_SKIN["right"]) + 0.5 * _skin(image, landmarks, CHEEK_SKIN["left"])
        # lashes: the photo's own lid-line darkness, never lighter than a third of the skin
        self.lash = torch.tensor(np.minimum(dark * 0.6, skin * 0.33), dtype=torch.float32, device=device).view(3, 1, 1)

    def paint(self, region: torch.Tensor, origin: tuple[int, int], side: str, top: np.ndarray,
              lid: np.ndarray, blink: float) -> None:
        """region (3, H, W) float32 0..255 at image pixel `origin`; top (K, 2) where the crease was,
        lid (K, 2) the lash line now, both in image pixels; blink in 0..1 (nothing below 0.15)."""
        strength = float(np.clip((blink - 0.15) / 0.85, 0, 1)) ** 1.2
        if strength <= 0.01:
            return
        ox, oy = origin
        _, h, w = region.shape
        xs = np.concatenate([top[:, 0], lid[:, 0]])
        x_lo, x_hi = float(xs.min()), float(xs.max())
        c0, c1 = max(int(np.floor(x_lo)) - ox, 0), min(int(np.ceil(x_hi)) - ox + 1, w)
        if c1 <= c0:
            return
        scale = self.eye_w[side] / 40.0                      # sizes below are for a 40 px wide eye
        fringe_px = FRINGE_PX * scale
        cols = np.arange(c0, c1) + ox + 0.5
        y_line = _polyline_y(lid, cols)                      # the closed lash line
        yt = np.minimum(_polyline_y(top, cols), y_line)
        reach_px = ABOVE_REACH * self.brow_gap_px[side]
        r0 = max(int(np.floor(yt.min() - reach_px)) - oy, 0)
        r1 = min(int(np.ceil(y_line.max() + COVER_MAX_PX * scale + 1.0)) - oy + 1, h)
        if r1 <= r0:
            return
        dev = self.device
        t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
        yt_t, yl_t = t(yt)[None], t(y_line)[None]
        y = (torch.arange(r0, r1, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        u = t((cols - x_lo) / max(x_hi - x_lo, 1.0))[None].clamp(0, 1)       # 0..1 corner to corner
        outer = (1 - u) if OUTER_AT_LOW_X[side] else u                        # 1 at the outer corner
        v = ((y - yt_t) / (yl_t - yt_t).clamp_min(1.0)).clamp(0, 1)           # 0 at the crease, 1 at the lashes
        bulge = torch.sin(torch.pi * u).clamp_min(0)                          # the eyeball under the lid
        ends = (bulge * 4).clamp(0, 1)                                        # fade in the last few % at the corners

        patch = region[:, r0:r1, c0:c1]
        # the warp's lid: the real lid and the socket above it, stretched down; stretching makes
        # vertical streaks (a glint, a dark iris edge), so it is averaged along the lid first
        kx = 2 * int(0.1 * self.eye_w[side]) + 1
        under = F.avg_pool2d(patch[None], (3, kx), 1, (1, kx // 2), count_include_pad=False)[0]
        # where that strays from the lid skin sampled above the crease (the painted eye's dark patch,
        # a glint on glasses) and mid-lid anyway, the sampled skin takes over; at the crease the frame's
        # own pixels stay, so the lid has no outline of its own
        ref = self.skin[side]
        ratio = (under.mean(0) / ref.mean()).log()
        stray = ((ratio.abs() - STRAY[0]) / (STRAY[1] - STRAY[0])).clamp(0, 1)
        take = torch.maximum(TAKE_MID * _smooth(v / 0.6), stray)
        lid = under + (ref - under) * take
        # grain: the lid sample's, one sample per pixel down from the crease
        grain_tex = self.grain[side]
        rows_i = (y - yt_t).round().long().clamp(0, grain_tex.shape[1] - 1)
        cols_i = (u * (grain_tex.shape[2] - 1)).round().long().expand_as(rows_i)
        grain = grain_tex[:, rows_i, cols_i]
        # shading: the lid bulges out of the socket over the eyeball (a little lighter mid-lid), and its
        # margin above the lashes turns away from the light
        light = 1 + 0.06 * bulge * _smooth(v / 0.5)
        margin = 1 - 0.15 * ((v - 0.65) / 0.35).clamp(0, 1) ** 2
        colour = lid * torch.where(y < yt_t, 1.0, grain) * light * margin
        inside = (yl_t - y + 0.5).clamp(0, 1) * (y - yt_t + 0.5).clamp(0, 1)
        # above the crease the warp stretched the socket; where that is far from skin (a painting's
        # eye patch reaching up to the brow) the lid skin continues up, fading out
        up = ((yt_t - y) / reach_px).clamp(0, 1)
        # (only darker: a glint there is on the glasses, not the skin)
        inside = torch.where(y < yt_t, stray * (ratio < 0) * (1 - _smooth(up)), inside)
        alpha = inside * ends * strength
        d = y - yl_t                                                          # px below the lash line
        # under the line: the lower lid's skin over what the warp left of the eye (a glint of white);
        # further down too where the frame there is far from skin (a painting's eye is one dark patch)
        low = self.low_skin[side]
        low_stray = (((under.mean(0) / low.mean()).log().abs() - STRAY[0]) / (STRAY[1] - STRAY[0])).clamp(0, 1)
        below = under + (low - under) * torch.maximum(low_stray, torch.full_like(low_stray, 0.3))
        reach = torch.maximum((COVER_PX * scale + 0.5 - d).clamp(0, 1),
                              low_stray * (1 - d / (COVER_MAX_PX * scale)).clamp(0, 1))
        colour = torch.where(d > 0, below, colour)
        alpha = torch.where(d > 0, reach * ends * strength, alpha)
        patch.mul_(1 - alpha).add_(colour * alpha)

        # lash line on the lid line, thickest two thirds of the way out; a fringe of lashes hangs below
        half = (LASH_HALF_PX[0] + LASH_HALF_PX[1] * torch.exp(-((outer - 0.65) / 0.3) ** 2)) * scale * ends
        line_a = LASH_ALPHA * torch.exp(-(d / half.clamp_min(0.3)) ** 2)
        comb = 0.75 + 0.25 * torch.sin(t(cols)[None] * 2.4 + 0.8 * d)        # separate lashes, slanted
        fringe_len = fringe_px * (0.4 + 0.6 * outer) * ends
        fringe_a = 0.5 * comb * (1 - d / fringe_len.clamp_min(0.5)).clamp(0, 1) * (d > 0)
        lash_a = torch.maximum(line_a, fringe_a) * strength * ends
        patch.mul_(1 - lash_a).add_(self.lash * lash_a)
