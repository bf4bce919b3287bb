"""Triangle mesh -> dense backward flow on a coarse grid (numpy; the pixels are then warped in torch).

    flow = FlowRaster(triangles, region=(x0, y0, w, h), cell_px=2)
    disp = flow(dst_xy, src_xy)     # (h // cell, w // cell, 2) float32: src - dst in pixels

For every grid cell centre the destination triangle that holds it is found and its barycentric
coordinates carry the vertices' source positions over: a piecewise-linear backward map, the
inverse of moving each vertex from src to dst. Cells that no moving triangle covers get 0 (identity).

Every triangle is tested against the cells of its own bounding box, all triangles in one batch
(no Python loop over triangles). Triangles whose three vertices stay put are skipped: their flow is 0.
Barycentrics and source points are affine in the cell position, so each triangle contributes two 3-vectors
and a 2x3 map, spread over its cells by block copies (np.repeat) rather than per-cell gathers.
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
        lo = np.maximum(np.ceil(corners.min(1)), 0).astype(np.int32)
        hi = np.minimum(np.floor(corners.max(1)), (gw - 1, gh - 1)).astype(np.int32)
        bw, bh = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
        a, v0, v1 = corners[:, 0], corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        keep = (bw > 0) & (bh > 0) & (np.abs(den) > 1e-9)
        tri, lo, bw, bh = tri[keep], lo[keep], bw[keep], bh[keep]
        a, v0, v1, den = a[keep], v0[keep], v1[keep], den[keep]
        # barycentrics are affine in the cell position: l1 = c1 . (x, y, 1), l2 = c2 . (x, y, 1), per triangle,
        # so each candidate cell costs two dot products instead of a gather of its three corners
        inv = 1.0 / den
        c1 = np.stack([v1[:, 1] * inv, -v1[:, 0] * inv, (v1[:, 0] * a[:, 1] - a[:, 0] * v1[:, 1]) * inv], 1)
        c2 = np.stack([-v0[:, 1] * inv, v0[:, 0] * inv, (a[:, 0] * v0[:, 1] - v0[:, 0] * a[:, 1]) * inv], 1)
        area = bw * bh
        t = np.repeat(np.arange(len(tri), dtype=np.int32), area)   # candidate -> triangle
        k = np.arange(len(t), dtype=np.int32) - np.repeat((np.cumsum(area) - area).astype(np.int32), area)
        # per-triangle values spread over its candidates with np.repeat (a block copy), not by gathering
        bw_t = np.repeat(bw, area)
        lo_t = np.repeat(lo, area, axis=0)
        dy = k // bw_t
        px = lo_t[:, 0] + (k - dy * bw_t)
        py = lo_t[:, 1] + dy
        fx, fy = px.astype(np.float32), py.astype(np.float32)
        c1t, c2t = np.repeat(c1, area, axis=0), np.repeat(c2, area, axis=0)
        l1 = c1t[:, 0] * fx + c1t[:, 1] * fy + c1t[:, 2]
        l2 = c2t[:, 0] * fx + c2t[:, 1] * fy + c2t[:, 2]
        inside = np.flatnonzero((l1 >= -EPS) & (l2 >= -EPS) & (l1 + l2 <= 1.0 + EPS))
        t, px, py, l1, l2 = t[inside], px[inside], py[inside], l1[inside], l2[inside]
        cells = py * gw + px
        if per_pixel_depth and depth is not None:
            # z-buffer: where the mesh folds (a turned head), triangle order is not enough: the comb of
            # near and far triangles along the fold would show. Write far to near per candidate pixel.
            # Only cells covered more than once need ordering; a stable sort of that subset keeps the
            # same order per cell as sorting them all.
            zt = depth.astype(np.float32)[tri]             # (M, 3)
            shared = np.bincount(cells, minlength=gh * gw)[cells] > 1
            if shared.any():
                sub = np.flatnonzero(shared)
                zs = zt[t[sub]]
                z = zs[:, 0] + l1[sub] * (zs[:, 1] - zs[:, 0]) + l2[sub] * (zs[:, 2] - zs[:, 0])
                order = np.concatenate([np.flatnonzero(~shared), sub[np.argsort(-z, kind="stable")]])
                t, px, py, l1, l2, cells = t[order], px[order], py[order], l1[order], l2[order], cells[order]
        # the source point is affine in the cell position too: src = A (x, y, 1), A per triangle (one gather)
        s = src_xy.astype(np.float32)[tri]                 # (M, 3, 2): source corners per triangle
        ds1, ds2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
        A = np.concatenate([ds1[:, :1] * c1 + ds2[:, :1] * c2, ds1[:, 1:] * c1 + ds2[:, 1:] * c2], 1)   # (M, 6)
        A[:, 2] += s[:, 0, 0]
        A[:, 5] += s[:, 0, 1]
        At = A[t]
        fx, fy = px.astype(np.float32), py.astype(np.float32)
        src_pt = np.stack([At[:, 0] * fx + At[:, 1] * fy + At[:, 2], At[:, 3] * fx + At[:, 4] * fy + At[:, 5]], 1)
        dst_pt = np.stack([(fx + 0.5) * cell + x0, (fy + 0.5) * cell + y0], 1)
        disp[cells] = src_pt - dst_pt      # repeated cells: numpy keeps the last write (nearest)
        return disp.reshape(gh, gw, 2)
