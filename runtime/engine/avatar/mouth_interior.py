"""What shows between parted lips: a dark cavity, the upper teeth, lower teeth when wide open, a tongue.

    interior = MouthInterior(avatar.image, avatar.landmarks, mouth_w_px, device)
    interior.paint(region, origin_xy, upper_lip_xy, lower_lip_xy)   # in place, under the lips

The warp stretches the line between the lips over the opening; this paints over exactly the
opening (the polygon of the inner lip contour), so the lips themselves keep their own pixels.
Colours are taken from the portrait: the cavity and tongue from the lips, darkened; the teeth from
the photo's own teeth when its lips are parted, else ivory tinted a little towards the lips.
Everything is per-column: the opening is the band between the upper and lower inner-lip polylines,
u runs 0..1 corner to corner, and sizes are shares of the mouth width (mw):

  - cavity: dark red-brown, lightest just inside the lips (wet mucosa catching light), darkest at
    the back and in the corners, with the upper lip's shadow across its top;
  - upper teeth: hang from the upper lip, up to 0.11 mw, shorter and dimmer towards the corners
    where they turn away into the dark; separate incisors, laterals and canines by faint gaps and
    slightly rounded edges (central incisors 0.11 mw wide, as on an adult);
  - tongue: a soft mound rising from the lower lip once the opening passes 0.15 mw;
  - lower teeth: a thin band of edges over the tongue once it passes 0.28 mw.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from facecast.runtime.engine.avatar.mesh import INNER_LIP, LOWER_OUTER_LIP, UPPER_OUTER_LIP

MIN_GAP_PX = 0.6           # below this the lips touch: nothing to paint
IVORY = np.array([236.0, 230.0, 214.0])
# tooth edges, outwards from the mouth centre, as shares of the mouth width: central incisor,
# lateral incisor, canine, premolar (adult upper teeth seen from the front)
TOOTH_EDGES_MW = (0.11, 0.195, 0.27, 0.33)
LOWER_TOOTH_MW = 0.065     # lower incisors are narrower
TONGUE_FROM_MW = 0.15      # the tongue shows once the opening passes this share of the mouth width
TONGUE_MW = 0.16           # and its top rises at most this far above the lower lip (wide open, it fills
                           # the floor of the mouth: at 0.06 a wide mouth read as one flat dark hole)
LOWER_TEETH_FROM_MW = 0.28  # the lower teeth's edges show once it passes this
LOWER_TEETH_MW = 0.02      # and rise at most this far above the lower lip
LOWER_TEETH_ALPHA = 0.5
SHARP_EDGE_PX = 1.2        # photo_blur_px of a sharp photo's lips and folds (1.1..1.4 on the docs' photos)
MAX_SOFTEN_PX = 2.0        # the interior is blurred at most this much: a 25-pixel face enlarged reads ~5.4,
                           # but blurred by 4 its opening no longer read as open to the landmark model


def _lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Median RGB of the pixels along the lips (between the outer contour and its centre line)."""
    p = landmarks[:, :2]
    pts = np.concatenate([0.7 * p[UPPER_OUTER_LIP[2:-2]] + 0.3 * p[[80, 81, 82, 13, 312, 311, 310]],
                          0.7 * p[LOWER_OUTER_LIP[1:-1]] + 0.3 * p[[88, 178, 87, 14, 317, 402, 318]]])
    xy = np.clip(np.round(pts).astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return np.median(image[xy[:, 1], xy[:, 0]].astype(np.float32), axis=0)   # median: a tooth is no lip


def _teeth_colour(image: np.ndarray, landmarks: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """The photo's own teeth where its lips are parted (the brightest, least saturated third of the
    pixels inside the inner-lip polygon), pulled a little towards ivory; None when it shows none."""
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon([tuple(q) for q in landmarks[INNER_LIP, :2].astype(np.float64)], fill=255)
    px = image[np.asarray(mask) > 0].astype(np.float32)
    if len(px) < 12:
        return None
    lum, sat = px.mean(1), px.max(1) - px.min(1)
    bright = px[(lum >= np.percentile(lum, 66)) & (sat <= np.percentile(sat, 50))]
    if len(bright) < 4 or bright.mean() < 120:           # no teeth there: a dark gap, or lips only
        return None
    teeth = np.median(bright, axis=0)
    return 0.8 * teeth + 0.2 * (IVORY * teeth.mean() / IVORY.mean())


def _patch_colour(image: np.ndarray, centre: np.ndarray, radius_px: float) -> np.ndarray:
    """Median RGB of the square of +-radius_px about centre (x, y), clipped to the image."""
    h, w = image.shape[:2]
    r = max(1, int(round(radius_px)))
    x, y = int(round(centre[0])), int(round(centre[1]))
    patch = image[max(0, y - r):min(h, y + r + 1), max(0, x - r):min(w, x + r + 1)].reshape(-1, 3)
    return np.median(patch.astype(np.float32), axis=0) if len(patch) else np.full(3, 128.0, np.float32)


def photo_light(image: np.ndarray, landmarks: np.ndarray, mouth_w_px: float) -> tuple[np.ndarray, float, float]:
    """How the photo lights the mouth: (cast (3,) the skin's colour over its grey, 1 for a grey photo;
    side_ratio: the light on the face's image-right cheek over its image-left one, 0.6..1.6; noise: the
    photo's grain, the median absolute fine detail of the lower face in grey levels). Painted teeth and
    tongue take the cast and the side light, and the grain, so they sit in the photo rather than on it."""
    p = landmarks[:, :2].astype(np.float64)
    r = 0.12 * mouth_w_px
    left, right = _patch_colour(image, p[205], r), _patch_colour(image, p[425], r)   # the cheeks beside the mouth
    skin = 0.5 * (left + right)
    cast = skin / max(float(skin.mean()), 1.0)
    side = float(np.clip((right.mean() + 1.0) / (left.mean() + 1.0), 0.6, 1.6))
    lo = np.clip(np.floor(p[[61, 291, 152]].min(0)).astype(int), 0, None)
    hi = np.ceil(p[[61, 291, 152]].max(0)).astype(int) + 1
    grey = image[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32).mean(-1)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return cast, side, 0.0
    fine = grey[1:-1, 1:-1] - 0.25 * (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:])
    return cast, side, float(np.median(np.abs(fine)))


def photo_blur_px(image: np.ndarray, landmarks: np.ndarray, probe_px: float = 2.0) -> float:
    """The Gaussian blur (sigma, pixels) of the photo's strong edges between the nose and the chin: a
    Gaussian edge of sigma s0 keeps s0 / sqrt(s0^2 + p^2) of its steepest slope when blurred by p more,
    so the ratio R of the 97th-percentile gradient after and before a probe blur p gives s0 = p R / sqrt(1 - R^2)."""
    from scipy import ndimage

    p = landmarks[:, :2]
    box = p[[61, 291, 152, 2]]
    lo = np.clip(np.floor(box.min(0)).astype(int), 0, None)
    hi = np.ceil(box.max(0)).astype(int) + 1
    grey = image[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float64).mean(-1)
    if min(grey.shape) < 8:
        return 0.0
    before = np.percentile(np.hypot(*np.gradient(grey)), 97)
    after = np.percentile(np.hypot(*np.gradient(ndimage.gaussian_filter(grey, probe_px))), 97)
    r = min(after / max(before, 1e-6), 0.99)
    return float(probe_px * r / np.sqrt(1.0 - r * r))


def _blur(colour: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """(3, H, W) Gaussian-blurred by sigma_px, separably, edges repeated."""
    r = max(1, int(np.ceil(2 * sigma_px)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32, device=colour.device) / sigma_px) ** 2)
    k = (k / k.sum()).view(1, 1, -1)
    x = F.pad(colour[None], (r, r, r, r), mode="replicate")[0]
    c, h, w = x.shape
    x = F.conv1d(x.reshape(c * h, 1, w), k).reshape(c, h, -1)                     # along rows
    x = F.conv1d(x.transpose(1, 2).reshape(-1, 1, h), k).reshape(c, -1, h - 2 * r)  # along columns
    return x.transpose(1, 2)


class MouthInterior:
    """Painted from the photo's own colours and light; blurred as much as the photo is soft around the
    mouth beyond a sharp photo's edges (photo_blur_px - SHARP_EDGE_PX), so crisp teeth do not sit on a
    soft or enlarged face."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, mouth_w_px: float, device: torch.device):
        lip = _lip_colour(image, landmarks)
        self.soften_px = float(np.clip(photo_blur_px(image, landmarks) - SHARP_EDGE_PX, 0.0, MAX_SOFTEN_PX))
        self.mouth_w = float(mouth_w_px)
        self.device = device
        cast, self.side_light, self.noise = photo_light(image, landmarks, mouth_w_px)
        as_t = lambda c: torch.tensor(c, dtype=torch.float32, device=device).view(3, 1, 1)  # noqa: E731
        self.lip = as_t(lip)
        self.cavity = as_t(lip * 0.2 + np.array([8.0, 2.0, 2.0]))             # the back of the mouth
        self.mucosa = as_t(lip * 0.55 + np.array([10.0, 0.0, 0.0]))          # the inside of the lips
        self.tongue = as_t(lip * 0.72 + np.array([28.0, 6.0, 8.0]))
        teeth = _teeth_colour(image, landmarks, lip)
        if teeth is None:
            # no teeth in the photo: ivory in the photo's light (a grey photo gets grey teeth, a warm
            # one warm), no brighter than the skin beside the mouth allows
            skin_lum = float(_patch_colour(image, landmarks[205, :2], 0.12 * mouth_w_px).mean())
            teeth = IVORY.mean() * cast * float(np.clip(skin_lum / 150.0, 0.45, 1.0))
            teeth = 0.82 * teeth + 0.1 * lip
        self.teeth = as_t(teeth)
        rng = np.random.default_rng(7)
        self._grain = torch.as_tensor(rng.standard_normal((256, 256)), dtype=torch.float32, device=device)

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
        mw = self.mouth_w
        yu_t, yl_t = t(yu)[None], t(yl)[None]
        y = (torch.arange(r0, r1, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        gap = yl_t - yu_t
        edge = 1.0 + self.soften_px                              # the lips' edge over the opening, px
        alpha = (((y - yu_t) / edge + 0.5).clamp(0, 1) * ((yl_t - y) / edge + 0.5).clamp(0, 1))   # (rows, cols)
        u = t((cols - x_lo) / max(x_hi - x_lo, 1e-6))[None].clamp(0, 1)
        shade = torch.sin(torch.pi * u).clamp_min(1e-3) ** 0.6                  # 1 mid-mouth, 0 at the corners
        from_up, from_low = y - yu_t, yl_t - y                                  # px inside the opening

        # cavity: lit just inside the lips, dark at the back and in the corners
        rim = torch.exp(-torch.minimum(from_up, from_low).clamp_min(0) / (0.035 * mw + 0.5))
        colour = self.cavity * (0.6 + 0.4 * shade) + (self.mucosa - self.cavity) * rim * (0.3 + 0.5 * shade)
        # tongue: a soft mound rising from the lower lip, highest mid-mouth, lit on top
        mound = (1 - (2.0 * (u - 0.5)) ** 2).clamp_min(0) ** 0.7
        tongue_h = (gap - TONGUE_FROM_MW * mw).clamp(0, TONGUE_MW * mw) * mound
        top = yl_t - tongue_h
        tongue = ((y - top) / (0.35 * tongue_h + 1.0)).clamp(0, 1)                   # soft top: no lip-like edge
        lit = 1 - 0.25 * ((y - top) / tongue_h.clamp_min(1.0)).clamp(0, 1)           # its back falls into shadow
        tongue = tongue * (tongue_h > 0.5)
        colour = colour + (self.tongue * (0.55 + 0.45 * shade) * lit - colour) * tongue
        # lower teeth: just their edges over the tongue, mid-mouth, when wide open
        dx = (t(cols)[None] - 0.5 * (x_lo + x_hi)).abs() / mw                 # from the mouth centre, mouth widths
        low_h = (gap - LOWER_TEETH_FROM_MW * mw).clamp(0, LOWER_TEETH_MW * mw) * ((shade - 0.6) / 0.3).clamp(0, 1)
        low_t = ((y - (yl_t - low_h)) / 1.2 + 0.5).clamp(0, 1) * (low_h > 0.5)
        low_edge_px = (0.5 - ((dx / LOWER_TOOTH_MW) % 1.0 - 0.5).abs()) * LOWER_TOOTH_MW * mw
        low_seam = 1 - 0.3 * torch.exp(-(low_edge_px / 0.6) ** 2)
        colour = colour + (self.teeth * (0.45 + 0.2 * shade) * low_seam - colour) * low_t * LOWER_TEETH_ALPHA
        # upper teeth: hang from the upper lip, shorter and dimmer towards the corners
        up_h = torch.minimum(0.45 * gap, torch.full_like(gap, 0.11 * mw)) * ((shade - 0.3) / 0.5).clamp(0, 1)
        edges = t(TOOTH_EDGES_MW)
        k = torch.bucketize(dx, edges)                                          # which tooth, 0 = central incisor
        lo_e = torch.cat([t([0.0]), edges])[k.clamp(max=len(TOOTH_EDGES_MW))]
        hi_e = torch.cat([edges, t([TOOTH_EDGES_MW[-1] + 0.06])])[k.clamp(max=len(TOOTH_EDGES_MW))]
        across = ((dx - lo_e) / (hi_e - lo_e)).clamp(0, 1)                      # 0..1 across one tooth
        tip = up_h * (1 - 0.18 * (2 * across - 1) ** 4) * (1 - 0.08 * k.float())  # rounded edges, shorter outwards
        up_t = ((yu_t + tip - y) / 0.8 + 0.5).clamp(0, 1)
        to_edge_px = torch.minimum(dx - lo_e, hi_e - dx) * mw                    # to the nearest gap between teeth
        seam = 1 - 0.22 * torch.exp(-(to_edge_px / 0.7) ** 2)
        depth = (from_up / up_h.clamp_min(1e-3)).clamp(0, 1)
        tooth = self.teeth * (0.35 + 0.65 * shade) * seam * (0.88 + 0.12 * depth)   # brighter towards the edge
        colour = colour + (tooth - colour) * up_t
        colour = colour * (0.72 + 0.28 * (from_up / (0.04 * mw + 0.5)).clamp(0, 1))   # the upper lip's shadow
        colour = colour * (0.85 + 0.15 * (from_low / (0.02 * mw + 0.5)).clamp(0, 1))  # the lower lip's inner edge
        # the photo's light: brighter towards its lit cheek, and its grain (fixed on the screen: no flicker)
        colour = colour * (1.0 + (self.side_light - 1.0) * (u - 0.5))
        if self.noise > 0.2:
            g = self._grain[(torch.arange(r0, r1, device=dev) + oy) % 256][:, (torch.arange(c0, c1, device=dev) + ox) % 256]
            colour = colour + 1.5 * self.noise * g
        if self.soften_px > 0.3:
            colour = _blur(colour, self.soften_px)
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
