"""What shows between parted lips: a dark cavity, the upper teeth, lower teeth when wide open, a tongue.

    interior = MouthInterior(avatar.image, avatar.landmarks, mouth_w_px, device)
    interior.paint(region, origin_xy, upper_lip_xy, lower_lip_xy)   # in place, under the lips

The warp stretches the line between the lips over the opening; this paints over exactly the
opening (the polygon of the inner lip contour), so the lips themselves keep their own pixels.
Colours are taken from the portrait (the lips, darkened, for the cavity and tongue; ivory teeth
tinted a little towards the lips) so the interior sits in the picture's own palette.
Everything is per-column: the opening is the band between the upper and lower inner-lip polylines.
"""

from __future__ import annotations

import numpy as np
import torch

from facecast.runtime.avatar.mesh import LOWER_OUTER_LIP, UPPER_OUTER_LIP

MIN_GAP_PX = 0.6           # below this the lips touch: nothing to paint


def _lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Median RGB of the pixels along the lips (between the outer contour and its centre line)."""
    p = landmarks[:, :2]
    pts = np.concatenate([0.7 * p[UPPER_OUTER_LIP[2:-2]] + 0.3 * p[[80, 81, 82, 13, 312, 311, 310]],
                          0.7 * p[LOWER_OUTER_LIP[1:-1]] + 0.3 * p[[88, 178, 87, 14, 317, 402, 318]]])
    xy = np.clip(np.round(pts).astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return np.median(image[xy[:, 1], xy[:, 0]].astype(np.float32), axis=0)   # median: a tooth is no lip


class MouthInterior:
    def __init__(self, image: np.ndarray, landmarks: np.ndarray, mouth_w_px: float, device: torch.device):
        lip = _lip_colour(image, landmarks)
        self.mouth_w = float(mouth_w_px)
        self.device = device
        as_t = lambda c: torch.tensor(c, dtype=torch.float32, device=device).view(3, 1, 1)  # noqa: E731
        self.lip = as_t(lip)
        self.cavity = as_t(lip * 0.22 + np.array([6.0, 2.0, 2.0]))
        self.tongue = as_t(lip * 0.4 + np.array([12.0, 0.0, 0.0]))
        self.teeth = as_t(np.array([240.0, 236.0, 224.0]) * 0.88 + lip * 0.12)

    def paint(self, region: torch.Tensor, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray) -> None:
        """region (3, H, W) float32 0..255, whose pixel (0, 0) is image pixel `origin` (x, y);
        upper / lower (K, 2) inner-lip polylines in image pixels, corner to corner (either direction)."""
        xs_all = np.concatenate([upper[:, 0], lower[:, 0]])
        x_lo, x_hi = float(xs_all.min()), float(xs_all.max())
        ou, ol = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        gap = lower[ol, 1] - np.interp(lower[ol, 0], upper[ou, 0], upper[ou, 1])
        if gap.max() < MIN_GAP_PX:
            return
        ox, oy = origin
        _, h, w = region.shape
        c0, c1 = max(int(np.floor(x_lo)) - ox, 0), min(int(np.ceil(x_hi)) - ox + 1, w)
        cols = np.arange(c0, c1) + ox + 0.5                     # pixel centres, image x
        yu = np.interp(cols, upper[ou, 0], upper[ou, 1])
        yl = np.maximum(np.interp(cols, lower[ol, 0], lower[ol, 1]), yu)
        r0, r1 = max(int(np.floor(yu.min())) - oy, 0), min(int(np.ceil(yl.max())) - oy + 1, h)
        if c1 <= c0 or r1 <= r0:
            return
        dev = self.device
        t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
        yu_t, yl_t = t(yu)[None], t(yl)[None]
        y = (torch.arange(r0, r1, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        gap = yl_t - yu_t
        alpha = ((y - yu_t + 0.5).clamp(0, 1) * (yl_t - y + 0.5).clamp(0, 1))          # (rows, cols)
        u = t((cols - x_lo) / max(x_hi - x_lo, 1e-6))[None]
        shade = torch.sin(torch.pi * u.clamp(0, 1)).clamp_min(1e-3) ** 0.6          # darker towards the corners
        v = ((y - yu_t) / gap.clamp_min(1e-3)).clamp(0, 1)
        colour = self.cavity * (0.55 + 0.45 * shade) * (1.0 - 0.35 * torch.sin(torch.pi * v))
        mw = self.mouth_w
        # tongue: a low mound near the lower lip once the mouth is well open
        tongue_h = (gap - 0.18 * mw).clamp(0, 0.08 * mw) * (1 - (2.2 * (u - 0.5)) ** 2).clamp_min(0)
        tongue = ((y - (yl_t - tongue_h)) / (0.7 * tongue_h + 1.0)).clamp(0, 1)   # soft top: no lip-like edge
        colour = colour * (1 - tongue) + self.tongue * (0.6 + 0.4 * shade) * (0.8 + 0.2 * v) * tongue
        # lower teeth: a thin band above the lower lip when wide open
        low_h = ((gap - 0.3 * mw).clamp(0, 0.03 * mw)) * ((shade - 0.5) / 0.4).clamp(0, 1)
        low_t = ((y - (yl_t - low_h)) + 0.5).clamp(0, 1) * (low_h > 0.5)
        colour = colour * (1 - low_t) + self.teeth * 0.45 * (0.7 + 0.3 * shade) * low_t
        # upper teeth: hang from the upper lip, at most ~14 % of the mouth width, half the gap when narrow
        # they recede into the dark towards the corners: shorter and dimmer there
        up_h = torch.minimum(0.45 * gap, torch.full_like(gap, 0.11 * mw)) * ((shade - 0.35) / 0.45).clamp(0, 1)
        up_t = ((yu_t + up_h - y) + 0.5).clamp(0, 1)
        tooth = self.teeth * (0.35 + 0.65 * shade) * (1.0 - 0.18 * ((y - yu_t) / up_h.clamp_min(1e-3)).clamp(0, 1))
        colour = colour * (1 - up_t) + tooth * up_t
        colour = colour * (0.8 + 0.2 * (v * 4).clamp(0, 1))     # the upper lip's shadow on the teeth top
        patch = region[:, r0:r1, c0:c1]
        patch.mul_(1 - alpha).add_(colour * alpha)

    def paint_seam(self, region: torch.Tensor, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray,
                   half_px: float, strength: float) -> None:
        """Closed lips of a portrait that had them parted: the warp squeezes the photo's teeth into
        a thin, ragged line; this paints lip over a band of +-half_px around the meeting line, with a
        dark crease in the middle. strength 0..1 (fades out as the mouth opens)."""
        if strength <= 0.01 or half_px <= 0.5:
            return
        ou, ol = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        x_lo, x_hi = max(upper[:, 0].min(), lower[:, 0].min()), min(upper[:, 0].max(), lower[:, 0].max())
        ox, oy = origin
        _, h, w = region.shape
        c0, c1 = max(int(np.floor(x_lo)) - ox, 0), min(int(np.ceil(x_hi)) - ox + 1, w)
        if c1 <= c0:
            return
        cols = np.arange(c0, c1) + ox + 0.5
        mid = 0.5 * (np.interp(cols, upper[ou, 0], upper[ou, 1]) + np.interp(cols, lower[ol, 0], lower[ol, 1]))
        u = (cols - x_lo) / max(x_hi - x_lo, 1e-6)
        half = half_px * np.clip(np.sin(np.pi * np.clip(u, 0, 1)), 0, 1) ** 0.5 + 0.5
        r0 = max(int(np.floor((mid - half).min())) - oy, 0)
        r1 = min(int(np.ceil((mid + half).max())) - oy + 1, h)
        if r1 <= r0:
            return
        dev = self.device
        mid_t = torch.as_tensor(mid, dtype=torch.float32, device=dev)[None]
        half_t = torch.as_tensor(half, dtype=torch.float32, device=dev)[None]
        y = (torch.arange(r0, r1, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        d = (y - mid_t).abs() / half_t                                       # 0 on the line, 1 at the band's edge
        alpha = (1.0 - d).clamp(0, 1).sqrt() * strength
        colour = self.lip * (0.5 + 0.5 * d.clamp(0, 1) ** 0.5)              # the crease darkest
        patch = region[:, r0:r1, c0:c1]
        patch.mul_(1 - alpha).add_(colour * alpha)
