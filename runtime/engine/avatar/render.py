"""PortraitRenderer: a prepared Avatar + a MotionFrame -> one RGB frame, by a 2-D mesh warp in torch.

    r = PortraitRenderer(Avatar.load("me.fca"), device="auto")     # CUDA when present, else CPU
    rgb = r.render(frame)                                            # (S, S, 3) uint8

Per frame: vertex positions = rest + blendshape basis . weights + gaze (shapes.py), posed by the
head angles and translation (mesh.posed); the triangles are rasterized into a backward flow on a
coarse grid (raster.py), upsampled and applied with grid_sample to the region inside the fixed
outer ring; the mouth opening is painted (mouth_interior.py). Outside that ring the output is
the portrait's own pixels, bit for bit. `render_rgba` gives the same frame on a transparent
background (alpha from the person mask; the head layer's alpha moves with the head).

The warp moves the head layer only (the avatar's soft "head" mask: face, hair, neck), laid over the
still background plate (prepare.py), so the background and the body stay put and what the turning
head uncovers is the plate's filled background. The layer is kept premultiplied against the plate,
image - (1 - alpha) * plate, so that an unmoved layer over the plate gives back the portrait exactly.
The head ring grows to take in hair or a hat the layer reaches past it (mesh.head_grow). On a turned
head the far side's outline folds over the hair and background beside it; where the flow squeezes
that hard the layer is feathered, so the face's edge is not a stepped cut (_feather_squeezed_edges).

If the portrait's lips are parted at rest, the rest pose closes them (jawOpen = 0 is a closed
mouth, as ARKit means it) and the photo's teeth are replaced by the painted interior when open.
On a toothy smile the inner-lip landmarks sit inside the lips; they are first moved onto the teeth's
edges and the teeth painted out of the source picture (parted_lips.py), so that lip closes on lip.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from facecast.bridge.schema import BLENDSHAPE_NAMES
from facecast.runtime.engine.avatar.mesh import (EYE_LIDS, FACE_OVAL, LEFT_EYE, LOWER_INNER_LIP, LOWER_OUTER_LIP, RIGHT_EYE,
                                          UPPER_INNER_LIP, UPPER_OUTER_LIP, build_rig, head_grow, inside_polygon, posed)
from facecast.runtime.engine.avatar.background import background_only, person_alpha
from facecast.runtime.engine.avatar.eyelids import EyelidPainter
from facecast.runtime.engine.avatar.mouth_interior import MouthInterior
from facecast.runtime.engine.avatar.parted_lips import cover_teeth, snap_inner_lips, teeth_mask
from facecast.runtime.engine.avatar.prepare import Avatar
from facecast.runtime.engine.avatar.raster import FlowRaster
from facecast.runtime.engine.avatar.shapes import blend_basis, gaze_offsets
from facecast.runtime.engine.motion.frame import MotionFrame

DEFAULT_CELL_PX = 4        # coarse flow grid spacing; lips and eyes get a finer grid of their own
FINE_CELL_PX = 2
LIP_FOLLOW = 0.8          # closing parted lips: share of the inner lip's move the outer lip takes
CREASE_MW = 0.02          # half-width of the dark line where closed lips meet, in mouth widths
SQUEEZE_START = 3.0        # source pixels per output pixel (a fold, a cut) past which a turned layer is feathered
FEATHER_PX = 4             # its blur's width
OUTLINE_BAND = 0.8         # and only outside the face oval shrunk to this share about its centre
TURN_DETAIL_DEG = 3.0      # head angles beyond this: fine flow over the whole face, not just lips and eyes
TRIANGULATE_JAW = 0.3      # the jaw opening the mesh is triangulated at
_JAW = BLENDSHAPE_NAMES.index("jawOpen")
_EYE_SHAPES = [i for i, n in enumerate(BLENDSHAPE_NAMES) if n.startswith(("eyeBlink", "eyeSquint", "eyeWide"))]
_BLINK_R, _BLINK_L = BLENDSHAPE_NAMES.index("eyeBlinkRight"), BLENDSHAPE_NAMES.index("eyeBlinkLeft")
_LIPS_BOX = UPPER_OUTER_LIP + LOWER_OUTER_LIP
_EYE_BOXES = (RIGHT_EYE + EYE_LIDS["right"]["upper2"], LEFT_EYE + EYE_LIDS["left"]["upper2"])
_UPPER = [78] + UPPER_INNER_LIP[1:-1] + [308]
_LOWER = [78] + LOWER_INNER_LIP + [308]


def pick_device(device: str = "auto") -> torch.device:
    """"auto": CUDA when torch sees a GPU, else CPU; or "cpu" / "cuda" as asked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class PortraitRenderer:
    """One avatar's renderer. `timings` (stage -> seconds of the last frame) for the benchmark;
    `head_alpha` (h, w) float32 0..1: where the head layer lay in the last frame, over self.region."""

    def __init__(self, avatar: Avatar, device: str = "auto", cell_px: int = DEFAULT_CELL_PX,
                 fine_cell_px: int = FINE_CELL_PX):
        self.avatar = avatar
        self.fine_cell_px = fine_cell_px
        self.device = pick_device(device)
        self.size = avatar.size
        layer = avatar.masks["head"].astype(np.float32) / 255.0
        # a toothy smile: the inner-lip landmarks onto the lips' real edges, the teeth painted out
        teeth = teeth_mask(avatar.image, avatar.landmarks)
        landmarks = snap_inner_lips(avatar.landmarks, teeth)
        grow = head_grow(landmarks, layer)
        rig = build_rig(landmarks, avatar.iris, grow=grow)
        basis = blend_basis(rig)
        # Triangulate with the mouth open so no triangle crosses a lip edge: jawOpen 0.3 parts the lips
        # (the lower lip rides on the turning jaw); wider, the face's triangles up to the eyes change too,
        # and a blink on Grace Hopper read 0.31 of open instead of 0.25.
        self.rig = build_rig(landmarks, avatar.iris, open_mouth=TRIANGULATE_JAW * basis[_JAW], grow=grow)
        self.basis = basis
        self.rest_offset = self._rest_offset()
        self.crease_px = CREASE_MW * self.rig.frame["mouth_w"]
        ring = self.rig.rest[self.rig.outer_start:, :2]
        lo = np.clip(np.floor(ring.min(0)) - cell_px, 0, self.size)
        hi = np.clip(np.ceil(ring.max(0)) + cell_px, 0, self.size)
        wh = np.minimum(np.ceil((hi - lo) / cell_px).astype(int), self.size // cell_px) * cell_px
        lo = np.clip(lo, 0, self.size - wh).astype(int)   # keep the cell-aligned box inside the image
        self.region = (int(lo[0]), int(lo[1]), int(wh[0]), int(wh[1]))
        self.raster = FlowRaster(self.rig.triangles, self.region, cell_px)
        x0, y0, w, h = self.region
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32) + y0 + 0.5,
                                torch.arange(w, dtype=torch.float32) + x0 + 0.5, indexing="ij")
        self._base = torch.stack([xs, ys], -1).to(self.device)[None]          # (1, h, w, 2) pixel centres
        image = cover_teeth(avatar.image, landmarks, teeth).astype(np.float32)
        plate = avatar.plate.astype(np.float32)
        # premultiplied head layer + its alpha, sampled together: (1, 4, S, S)
        fg = np.concatenate([image - (1.0 - layer[..., None]) * plate, layer[..., None]], -1)
        self._layer = torch.as_tensor(fg, device=self.device).permute(2, 0, 1)[None].contiguous()
        self._plate = torch.as_tensor(plate[y0:y0 + h, x0:x0 + w], device=self.device).permute(2, 0, 1).contiguous()
        self._image_u8 = np.ascontiguousarray(avatar.image)
        head = torch.as_tensor(avatar.masks["head"][y0:y0 + h, x0:x0 + w] > 0, device=self.device)
        self._head_mask = head.float()[None, :, :, None]                       # (1, h, w, 1)
        self.eyelids = EyelidPainter(avatar.image, avatar.landmarks, self.device)
        self.interior = MouthInterior(avatar.image, landmarks, self.rig.frame["mouth_w"], self.device)
        self.timings: dict[str, float] = {}
        self.head_alpha = self._layer[0, 3, y0:y0 + h, x0:x0 + w]

    def _rest_offset(self) -> np.ndarray:
        """(N, 2) closes lips the photo shows parted: each lower inner-lip point rises and its upper
        partner comes down to meet it (60/40); the outer lips follow by LIP_FOLLOW, so that a lip
        keeps about its thickness (stretched, it streaks) and the skin around takes the stretch."""
        p = self.rig.rest[:, :2]
        off = np.zeros_like(p)
        up = np.array(UPPER_INNER_LIP[1:-1])
        low = np.array(LOWER_INNER_LIP)
        y_up = np.interp(p[low, 0], *p[up][np.argsort(p[up, 0])].T)
        gap = np.maximum(p[low, 1] - y_up, 0)
        self.rest_gap_px = float(np.median(gap))
        if self.rest_gap_px <= 1.0:
            return off
        y_low = np.interp(p[up, 0], *p[low][np.argsort(p[low, 0])].T)
        gap_up = np.maximum(y_low - p[up, 1], 0)
        off[low, 1] = -0.6 * gap
        off[up, 1] = 0.4 * gap_up
        off[LOWER_OUTER_LIP, 1] = -LIP_FOLLOW * 0.6 * np.median(gap)
        off[UPPER_OUTER_LIP[2:-2], 1] = LIP_FOLLOW * 0.4 * np.median(gap)
        return off

    @contextmanager
    def _stage(self, name: str):
        t0 = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.timings[name] = time.perf_counter() - t0

    def _detail_boxes(self, dst: np.ndarray, frame: MotionFrame) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) inside self.region around the lips, and around each eye while its lids or
        iris move against the face (else the coarse flow carries the eye whole), at their current place."""
        x0, y0, w, h = self.region
        out = []
        eyes_move = bool(np.any(frame.blendshapes[_EYE_SHAPES] > 0.01) or np.any(np.asarray(frame.gaze) != 0))
        if np.abs(np.asarray(frame.head[:3])).max() > TURN_DETAIL_DEG:
            # a turned head folds over itself at the cheek and jaw: the whole face gets the finer grid
            boxes = [(FACE_OVAL, 0.06)]
        else:
            boxes = [(_LIPS_BOX, 0.12)] + ([(_EYE_BOXES[0], 0.25), (_EYE_BOXES[1], 0.25)] if eyes_move else [])
        for idx, margin in boxes:
            pts = dst[idx]
            pad = margin * float(np.ptp(pts[:, 0])) + 2
            lo = np.maximum(np.floor(pts.min(0) - pad), (x0, y0)).astype(int)
            hi = np.minimum(np.ceil(pts.max(0) + pad), (x0 + w, y0 + h)).astype(int)
            wh = (hi - lo) // self.fine_cell_px * self.fine_cell_px   # whole fine cells
            if (wh > 0).all():
                out.append((int(lo[0]), int(lo[1]), int(wh[0]), int(wh[1])))
        return out

    def vertices(self, frame: MotionFrame) -> np.ndarray:
        """(N, 3) destination vertex positions (x, y image pixels; z depth) for a motion frame."""
        weights = np.clip(np.asarray(frame.blendshapes, np.float32), 0.0, 1.0)
        flat = np.tensordot(weights, self.basis, axes=1)
        verts = self.rig.rest.copy()
        verts[:, :2] += flat + self.rest_offset + gaze_offsets(self.rig, np.asarray(frame.gaze, np.float64))
        return posed(self.rig, verts, np.asarray(frame.head, np.float64))

    def render_tensor(self, frame: MotionFrame) -> torch.Tensor:
        """(3, h, w) float32 0..255: the warped region (self.region) of the frame."""
        with self._stage("vertices"):
            posed_xyz = self.vertices(frame)
            dst, depth = posed_xyz[:, :2], posed_xyz[:, 2]
        with self._stage("raster"):
            turned = bool(np.abs(np.asarray(frame.head[:3])).max() > TURN_DETAIL_DEG)
            disp = self.raster(dst, self.rig.rest[:, :2], depth=depth, per_pixel_depth=turned)
            coarse = disp
            disp = torch.from_numpy(disp).to(self.device).permute(2, 0, 1)[None]
        with self._stage("warp"):
            x0, y0, w, h = self.region
            flow = F.interpolate(disp, size=(h, w), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
            fc = self.fine_cell_px
            for bx, by, bw, bh in self._detail_boxes(dst, frame):   # a finer flow where edges matter
                fine = self.raster(dst, self.rig.rest[:, :2], (bx, by, bw, bh), fc, depth=depth, per_pixel_depth=turned)
                fine = torch.from_numpy(fine).to(self.device)
                if fc > 1:
                    fine = F.interpolate(fine.permute(2, 0, 1)[None], size=(bh, bw), mode="bilinear",
                                         align_corners=False)[0].permute(1, 2, 0)
                flow[0, by - y0:by - y0 + bh, bx - x0:bx - x0 + bw] = fine
            if not np.any(np.asarray(frame.head)):
                # a still head moves nothing outside it: cut the coarse flow's bilinear bleed at the outline
                # (the mask takes in the jaw's reach, background.jaw_reach, so an open jaw is not cut)
                flow = flow * self._head_mask
            grid = (self._base + flow) * (2.0 / self.size) - 1.0
            # past the picture's edge the layer is transparent (the plate shows): repeating the edge
            # row instead draws streaks of hair or hat down a nodding head
            fg = F.grid_sample(self._layer, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
            if turned:
                fg = self._feather_squeezed_edges(fg, coarse, dst)
            self.head_alpha = fg[3]
            region = torch.addcmul(fg[:3], self._plate, 1.0 - fg[3:4])
        with self._stage("mouth"):
            if self.rest_gap_px > 1.0:   # the photo's lips were parted: a crease where they now meet
                gap_now = float(np.median(dst[LOWER_INNER_LIP[2:-2], 1] - dst[UPPER_INNER_LIP[3:-3], 1]))
                self.interior.paint_seam(region, (x0, y0), dst[_UPPER], dst[_LOWER], self.crease_px,
                                         float(np.clip(1.0 - gap_now / (0.5 * self.rest_gap_px), 0, 1)))
            self.interior.paint(region, (x0, y0), dst[_UPPER], dst[_LOWER])
            for side, arkit in (("right", _BLINK_R), ("left", _BLINK_L)):
                blink = float(frame.blendshapes[arkit])
                if blink > 0.15:
                    lids = EYE_LIDS[side]
                    up2 = np.array(lids["upper2"])
                    crease = dst[up2] - blink * self.basis[arkit][up2]   # where the crease was
                    line = [lids["corners"][0]] + lids["upper"] + [lids["corners"][1]]
                    self.eyelids.paint(region, (x0, y0), side, crease, dst[line], blink)
        return region

    def _feather_squeezed_edges(self, fg: torch.Tensor, disp: np.ndarray, dst: np.ndarray) -> torch.Tensor:
        """fg (4, h, w) the warped premultiplied layer and its alpha; disp (gh, gw, 2) the coarse flow;
        dst (N, 2) the vertices' places.
        Where a turn squeezes the layer (the far side's cheek, hair and ear pressed into a pixel or two,
        or the mesh folding there, the face's outline passing over them) the edge comes out as a hard,
        stepped cut against the plate or the hair: there the layer and its alpha are blurred together
        (premultiplied, so the colours stay right), in proportion to the squeeze."""
        cell = self.raster.cell
        d = disp * np.float32(1.0 / cell)
        ax = d[:, 1:] - d[:, :-1]
        ax[..., 0] += 1.0
        ay = d[1:] - d[:-1]
        ay[..., 1] += 1.0
        sx = np.sqrt(np.einsum("ijk,ijk->ij", ax, ax))      # source cells per cell, along x
        sy = np.sqrt(np.einsum("ijk,ijk->ij", ay, ay))
        squeeze = np.zeros(disp.shape[:2], np.float32)
        squeeze[:, 1:] = sx
        squeeze[:, :-1] = np.maximum(squeeze[:, :-1], sx)
        squeeze[1:] = np.maximum(squeeze[1:], sy)
        squeeze[:-1] = np.maximum(squeeze[:-1], sy)
        weight = np.clip((squeeze - SQUEEZE_START) / SQUEEZE_START, 0.0, 1.0)
        # the face's outline only: lips closing over parted teeth or a blink squeeze as hard, and stay sharp
        oval = dst[FACE_OVAL]
        centre = oval.mean(0)
        ys, xs = np.nonzero(weight)
        cells = (np.stack([xs, ys], 1) + 0.5) * cell + self.region[:2]
        inner = inside_polygon(cells, centre + OUTLINE_BAND * (oval - centre))
        weight[ys[inner], xs[inner]] = 0.0
        if not weight.any():
            return fg
        weight = ndimage.maximum_filter(weight, 3)                # over the cut's both sides
        ys, xs = np.nonzero(weight)
        cy0, cx0 = max(int(ys.min()) - 1, 0), max(int(xs.min()) - 1, 0)
        cy1, cx1 = min(int(ys.max()) + 2, weight.shape[0]), min(int(xs.max()) + 2, weight.shape[1])
        y0, y1, x0, x1 = cy0 * cell, cy1 * cell, cx0 * cell, cx1 * cell
        part = fg[:, y0:y1, x0:x1]
        w = torch.from_numpy(np.ascontiguousarray(weight[cy0:cy1, cx0:cx1])).to(fg.device)
        w = F.interpolate(w[None, None], size=part.shape[1:], mode="bilinear", align_corners=False)[0]
        # a box average over FEATHER_PX squares, brought back bilinearly: a blur about that wide at a
        # fraction of a full-resolution filter's cost
        soft = F.interpolate(F.avg_pool2d(part[None], FEATHER_PX), size=part.shape[1:], mode="bilinear",
                             align_corners=False)[0]
        part.add_(w * (soft - part))                  # fg is this frame's own sample: changed in place
        return fg

    def _alpha_setup(self) -> None:
        """What a transparent background needs, made once per avatar on first use. The plate's own person
        cover P_plate = (P - L) / (1 - L) follows from the person alpha P and the head layer L (the portrait
        is the layer over the plate: P = L + (1 - L) P_plate); the backdrop colour B behind soft edges is
        taken out of the plate (plate - (1 - P_plate) B is the premultiplied person), so hair and shoulders
        over a new background carry no fringe of the old one."""
        av = self.avatar
        person = av.masks.get("person")
        p = (person.astype(np.float32) / 255.0 if person is not None
             else person_alpha(av.image, av.landmarks))       # a file prepared before the person mask was kept
        layer = av.masks["head"].astype(np.float32) / 255.0
        pp = np.where(layer < 0.999, np.clip((p - layer) / np.maximum(1.0 - layer, 1e-6), 0.0, 1.0), 0.0)
        behind = (1.0 - pp)[..., None] * background_only(av.image, p)         # (S, S, 3) backdrop share
        plate = av.plate.astype(np.float32)
        premult = np.clip(plate - behind, 0.0, None)
        straight = np.where(pp[..., None] > 1 / 255, premult / np.maximum(pp[..., None], 1 / 255), plate)
        static = np.concatenate([straight, 255.0 * pp[..., None]], -1)
        self._static_rgba = np.clip(np.round(static), 0, 255).astype(np.uint8)   # outside the region
        x0, y0, w, h = self.region
        as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=self.device)  # noqa: E731
        self._plate_cover = as_t(pp[None, y0:y0 + h, x0:x0 + w])                      # (1, h, w)
        self._behind = as_t(behind[y0:y0 + h, x0:x0 + w].transpose(2, 0, 1))          # (3, h, w)

    def render_rgba(self, frame: MotionFrame) -> np.ndarray:
        """(S, S, 4) uint8 RGBA frame on a transparent background: alpha is the person (soft at hair and
        shoulders), the head's part moving with the head; colour is straight (not premultiplied), the
        backdrop unmixed from soft edges. Where alpha is 0 the colour is the opaque frame's."""
        if not hasattr(self, "_static_rgba"):
            self._alpha_setup()
        region = self.render_tensor(frame)
        with self._stage("alpha"):
            # where the warped layer is 0 the region is the plate (all painting is on the face), whose
            # RGBA is static: only the box round the layer is worked out
            x0, y0, w, h = self.region
            rows = (self.head_alpha.amax(1) > 0).to(torch.uint8)
            cols = (self.head_alpha.amax(0) > 0).to(torch.uint8)
            if not bool(rows.any()):
                return self._static_rgba.copy()
            by0, by1 = int(rows.argmax()), h - int(rows.flip(0).argmax())
            bx0, bx1 = int(cols.argmax()), w - int(cols.flip(0).argmax())
            a = self.head_alpha[None, by0:by1, bx0:bx1]
            box = region[:, by0:by1, bx0:bx1]
            uncovered = torch.rsub(a, 1.0)
            rgba = torch.empty((4,) + a.shape[1:], device=a.device)
            alpha = torch.addcmul(a, uncovered, self._plate_cover[:, by0:by1, bx0:bx1], out=rgba[3:])
            colour = torch.addcmul(box, uncovered, self._behind[:, by0:by1, bx0:bx1], value=-1.0, out=rgba[:3])
            colour.div_(alpha.clamp_min(1 / 255))
            torch.where(alpha > 1 / 255, colour, box, out=colour)
            alpha.mul_(255.0)
            rgba.clamp_(0, 255).add_(0.5)
        with self._stage("output"):
            out = self._static_rgba.copy()
            # rounded (+0.5 above, truncated here) and interleaved into the frame in one pass
            view = torch.from_numpy(out)[y0 + by0:y0 + by1, x0 + bx0:x0 + bx1]
            view.permute(2, 0, 1).copy_(rgba.cpu())
        return out

    def render(self, frame: MotionFrame) -> np.ndarray:
        """(S, S, 3) uint8 RGB frame."""
        region = self.render_tensor(frame)
        with self._stage("output"):
            x0, y0, w, h = self.region
            out = self._image_u8.copy()
            # rounded (+0.5, then truncated by the copy) and interleaved into the frame in one pass
            view = torch.from_numpy(out)[y0:y0 + h, x0:x0 + w]
            view.permute(2, 0, 1).copy_(region.clamp_(0, 255).add_(0.5).cpu())
        return out


def neutral_frame() -> MotionFrame:
    """A motion frame with every shape at 0 and the head at rest."""
    return MotionFrame(0.0)


def lip_gap_px(landmarks: np.ndarray) -> float:
    """Inner-lip gap at the mouth centre (landmarks 13 -> 14), pixels."""
    return float(landmarks[14, 1] - landmarks[13, 1])



