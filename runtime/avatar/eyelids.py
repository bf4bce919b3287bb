"""Closed-lid skin over a blinking eye.

The warp brings the upper lid (and its lashes) down to the lower lid by stretching the skin above
the crease, which in most portraits is the shadowed eye socket: stretched, it reads as a dim,
half-open eye. This paints lid skin, in the portrait's own skin colour, over the band between
where the crease was and where the lash line now is, in proportion to the blink, leaving the
lash line itself (the bottom pixel rows) to the warp.
"""

from __future__ import annotations

import numpy as np
import torch

CHEEK_SKIN = {"right": [118, 117, 50, 101], "left": [347, 346, 280, 330]}
BROW_SKIN = {"right": [223, 224, 225], "left": [443, 444, 445]}


def _skin(image: np.ndarray, landmarks: np.ndarray, idx: list[int]) -> np.ndarray:
    xy = np.clip(np.round(landmarks[idx, :2]).astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return np.median(image[xy[:, 1], xy[:, 0]].astype(np.float32), axis=0)


class EyelidPainter:
    def __init__(self, image: np.ndarray, landmarks: np.ndarray, device: torch.device):
        self.device = device
        self.colour = {}
        for side in ("right", "left"):
            c = 0.5 * _skin(image, landmarks, CHEEK_SKIN[side]) + 0.5 * _skin(image, landmarks, BROW_SKIN[side])
            self.colour[side] = torch.tensor(c * 0.93, dtype=torch.float32, device=device).view(3, 1, 1)
        lid = np.concatenate([landmarks[[159, 158, 160, 386, 385, 387], :2]])
        xy = np.clip(np.round(lid).astype(int), 0, np.array(image.shape[1::-1]) - 1)
        dark = np.percentile(image[xy[:, 1], xy[:, 0]].astype(np.float32), 20, axis=0)
        self.lash = torch.tensor(dark * 0.6, dtype=torch.float32, device=device).view(3, 1, 1)

    def paint(self, region: torch.Tensor, origin: tuple[int, int], side: str, top: np.ndarray,
              lid: np.ndarray, blink: float) -> None:
        """region (3, H, W) float32 0..255 at image pixel `origin`; top (K, 2) where the crease was,
        lid (K, 2) the lash line now, both in image pixels; blink in 0..1."""
        strength = float(np.clip((blink - 0.15) / 0.85, 0, 1)) ** 1.2
        if strength <= 0.01:
            return
        ox, oy = origin
        _, h, w = region.shape
        xs = np.concatenate([top[:, 0], lid[:, 0]])
        c0, c1 = max(int(np.floor(xs.min())) - ox, 0), min(int(np.ceil(xs.max())) - ox + 1, w)
        if c1 <= c0:
            return
        cols = np.arange(c0, c1) + ox + 0.5
        yt = np.interp(cols, *top[np.argsort(top[:, 0])].T)
        yb = np.interp(cols, *lid[np.argsort(lid[:, 0])].T) - 1.5     # keep the lashes
        yt = np.minimum(yt, yb)
        r0, r1 = max(int(np.floor(yt.min())) - oy, 0), min(int(np.ceil(yb.max())) - oy + 1, h)
        if r1 <= r0:
            return
        dev = self.device
        yt_t = torch.as_tensor(yt, dtype=torch.float32, device=dev)[None]
        yb_t = torch.as_tensor(yb, dtype=torch.float32, device=dev)[None]
        y = (torch.arange(r0, r1, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        v = ((y - yt_t) / (yb_t - yt_t).clamp_min(1.0)).clamp(0, 1)          # 0 at the crease, 1 at the lashes
        inside = (yb_t - y + 0.5).clamp(0, 1) * (y - yt_t + 0.5).clamp(0, 1)
        u = torch.as_tensor((cols - cols[0]) / max(cols[-1] - cols[0], 1.0), dtype=torch.float32, device=dev)[None]
        ends = torch.sin(torch.pi * u.clamp(0, 1)).clamp_min(0) ** 0.5                  # fade out at the eye corners
        alpha = inside * strength * ends * (0.35 + 0.6 * v.clamp(0, 0.8) / 0.8)
        colour = self.colour[side] * (1.0 - 0.1 * v)                          # a little darker near the lashes
        patch = region[:, r0:r1, c0:c1]
        patch.mul_(1 - alpha).add_(colour * alpha)
        # the closed lash line: a dark band, thickest mid-eye, just above and on the lid line
        r2 = min(int(np.ceil(yb.max() + 3.0)) - oy + 1, h)
        y = (torch.arange(r0, r2, device=dev, dtype=torch.float32) + oy + 0.5)[:, None]
        thick = 0.5 + 2.0 * ends
        d = (y - (yb_t + 1.5)).abs()
        lash_a = (thick - d).clamp(0, 1) * strength * 0.85 * ends
        patch = region[:, r0:r2, c0:c1]
        patch.mul_(1 - lash_a).add_(self.lash * lash_a)
