"""Triangle mesh -> dense backward flow on a coarse grid (numpy; the pixels are then warped in torch).

    flow = FlowRaster(triangles, region=(x0, y0, w, h), cell_px=2)
    disp = flow(dst_xy, src_xy)     # (h // cell, w // cell, 2) float32: src - dst in pixels

For every grid cell centre the destination triangle that holds it is found and its barycentric
coordinates carry the vertices' source positions over: a piecewise-linear backward map, the
inverse of moving each vertex from src to dst. Cells that no moving triangle covers get 0 (identity).

Every triangle is tested against the cells of its own bounding box, all triangles in one batch
(no Python loop over triangles). Triangles whose three vertices stay put are skipped: their flow is 0.
This is geometry on ~10^5 points, which numpy does several times faster than torch's CPU kernels
(per-op overhead); the result is a small array, uploaded once per frame.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-4


class FlowRaster:
    def __init__(self, triangles: np.ndarray, region: tuple[int, int, int, int], cell_px: int):
        self.tri = np.asarray(triangles, np.int64)
        self.x0, self.y0, w, h = region
        self.cell = cell_px
        self.gw, self.gh = w // cell_px, h // cell_px

    def __call__(self, dst_xy: np.ndarray, src_xy: np.ndarray,
                 region: tuple[int, int, int, int] | None = None, cell_px: int | None = None,
                 depth: np.ndarray | None = None, per_pixel_depth: bool = False) -> np.ndarray:
        """`region`/`cell_px` override the constructor's for one call (a fine box around the mouth).
        `depth` (N,) vertex z: where the mesh folds over itself (a cheek passing the face's edge when
        the head turns) the nearer triangle wins: triangles are written far to near, or with
        `per_pixel_depth` every covered cell far to near by its own interpolated z (a true z-buffer)."""
        x0, y0, w, h = region if region is not None else (self.x0, self.y0, self.gw * self.cell, self.gh * self.cell)
        cell = cell_px or self.cell
        gw, gh = w // cell, h // cell
        disp = np.zeros((gh * gw, 2), np.float32)
        moving_v = np.abs(dst_xy - src_xy).max(1) > 1e-3
        tri = self.tri[moving_v[self.tri].any(1)]
        if depth is not None:
            tri = tri[np.argsort(-depth[tri].sum(1), kind="stable")]
        if len(tri) == 0:
            return disp.reshape(gh, gw, 2)
        # grid coordinates: cell (i, j) has its centre at (j, i)
        g = ((dst_xy - (x0, y0)) / cell - 0.5).astype(np.float32)
        corners = g[tri]                                   # (M, 3, 2)
        lo = np.maximum(np.ceil(corners.min(1)), 0).astype(np.int64)
        hi = np.minimum(np.floor(corners.max(1)), (gw - 1, gh - 1)).astype(np.int64)
        bw, bh = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
        a, v0, v1 = corners[:, 0], corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        keep = (bw > 0) & (bh > 0) & (np.abs(den) > 1e-9)
        tri, lo, bw, bh = tri[keep], lo[keep], bw[keep], bh[keep]
        a, v0, v1, den = a[keep], v0[keep], v1[keep], den[keep]
        area = bw * bh
        t = np.repeat(np.arange(len(tri)), area)           # candidate -> triangle
        k = np.arange(len(t)) - np.repeat(np.cumsum(area) - area, area)
        bw_t = bw[t]
        px = lo[t, 0] + k % bw_t
        py = lo[t, 1] + k // bw_t
        rx = px - a[t, 0]
        ry = py - a[t, 1]
        inv = (1.0 / den)[t]
        l1 = (rx * v1[t, 1] - v1[t, 0] * ry) * inv
        l2 = (v0[t, 0] * ry - rx * v0[t, 1]) * inv
        l0 = 1.0 - l1 - l2
        inside = (l0 >= -EPS) & (l1 >= -EPS) & (l2 >= -EPS)
        t, px, py, l0, l1, l2 = t[inside], px[inside], py[inside], l0[inside], l1[inside], l2[inside]
        if per_pixel_depth and depth is not None:
            # z-buffer: where the mesh folds (a turned head), triangle order is not enough: the comb of
            # near and far triangles along the fold would show. Write far to near per candidate pixel.
            zc = depth.astype(np.float32)[tri[t]]
            z = l0 * zc[:, 0] + l1 * zc[:, 1] + l2 * zc[:, 2]
            order = np.argsort(-z, kind="stable")
            t, px, py, l0, l1, l2 = t[order], px[order], py[order], l0[order], l1[order], l2[order]
        s = src_xy.astype(np.float32)[tri[t]]              # (n, 3, 2)
        src_pt = l0[:, None] * s[:, 0] + l1[:, None] * s[:, 1] + l2[:, None] * s[:, 2]
        dst_pt = np.stack([(px + 0.5) * cell + x0, (py + 0.5) * cell + y0], 1)
        disp[py * gw + px] = src_pt - dst_pt      # repeated cells: numpy keeps the last write (nearest)
        return disp.reshape(gh, gw, 2)
