"""The deformable 2-D mesh of a prepared portrait: vertices, triangles, and where they go per motion frame.

Vertices (all in image pixels, x, y, z as in landmarks.py):
  - the 468 face-mesh landmarks, then 3 iris points per eye (centre, image-left and image-right rim);
  - a skin ring just outside the face oval, halfway to the pivot's depth, to spread a turn's stretch;
  - a head ring around the face oval with room for hair above and the neck below: moves with the head
    (pushed out, with the two rings beyond it, where the avatar's head layer reaches further: head_grow);
  - a middle ring that follows the head a little (RING_FOLLOW) so the stretch spreads out;
  - an outer ring that never moves: outside it the picture is left untouched.
Triangles come from Delaunay triangulations, one inside the head ring (with the mouth held open, so
that no triangle straddles a lip edge: the mouth opening is then exactly the inner-lip polygon) and
one outside it (head ring to the fixed outer ring).

Head motion rotates the 3-D vertices about a pivot behind the face near ear level (the atlas joint
is there) and projects them orthographically; the head ring sits at the pivot's depth (a head's
silhouette is about as deep as its centre), so it turns in place rather than sweeping sideways.
Landmarks on or just inside the visible face outline take the outline's depth (outline_depth): on a
slightly turned photo the mesh model puts far-cheek points on the silhouette with a cheek's depth, and
turning those at their own depth tore the face edge into a saw-tooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay

# MediaPipe face-mesh indices. "Right"/"left" are the person's (right = image left).
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
UPPER_OUTER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER_LIP = [146, 91, 181, 84, 17, 314, 405, 321, 375]           # between the corners
UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER_LIP = [95, 88, 178, 87, 14, 317, 402, 318, 324]            # between the inner corners
OUTER_LIP = UPPER_OUTER_LIP + LOWER_OUTER_LIP[::-1]
INNER_LIP = UPPER_INNER_LIP + LOWER_INNER_LIP[::-1]                    # the mouth-opening polygon
MOUTH_CORNERS = {"right": [61, 78], "left": [291, 308]}
EYE_LIDS = {  # corners (outer, inner), upper lid, lower lid, the ring above and below the lids
    "right": dict(corners=(33, 133), upper=[246, 161, 160, 159, 158, 157, 173],
                  lower=[7, 163, 144, 145, 153, 154, 155],
                  upper2=[247, 30, 29, 27, 28, 56, 190], lower2=[25, 110, 24, 23, 22, 26, 112]),
    "left": dict(corners=(263, 362), upper=[466, 388, 387, 386, 385, 384, 398],
                 lower=[249, 390, 373, 374, 380, 381, 382],
                 upper2=[467, 260, 259, 257, 258, 286, 414], lower2=[255, 339, 254, 253, 252, 256, 341]),
}
RIGHT_EYE = [33] + EYE_LIDS["right"]["upper"] + [133] + EYE_LIDS["right"]["lower"][::-1]
LEFT_EYE = [263] + EYE_LIDS["left"]["upper"] + [362] + EYE_LIDS["left"]["lower"][::-1]
BROWS = {"right": dict(inner=[107, 66, 55, 65], outer=[70, 63, 46, 53], mid=[105, 52]),
         "left": dict(inner=[336, 296, 285, 295], outer=[300, 293, 276, 283], mid=[334, 282])}
N_LANDMARKS = 468
N_IRIS = 6                 # per eye: centre, image-left rim, image-right rim
IRIS_START = N_LANDMARKS
RING_POINTS = len(FACE_OVAL)
SKIN_START = N_LANDMARKS + N_IRIS               # vertex index ranges of the four rings
HEAD_START = SKIN_START + RING_POINTS
MID_START = HEAD_START + RING_POINTS
OUTER_START = MID_START + RING_POINTS
# Ring scales from the face centre, by direction: (up, sideways, down). Up leaves room for hair,
# down for the neck the chin slides over when the jaw opens (all of it inside the head ring). The
# skin ring under the chin drops with the jaw (0.9 x shapes.JAW_DROP_F = 0.18 face heights at
# jawOpen 1) while the head ring stays, so the head ring's bottom sits 0.4 face heights under the
# chin: half of the band between them is left at a full drop. At 0.275 (down = 1.55) the skin
# ring went past the head ring, the triangles folded over and the chin's edge came out in steps.
SKIN_RING_SCALE = (1.1, 1.08, 1.1)   # just outside the face edge: spreads the turn's stretch
HEAD_RING_SCALE = (1.42, 1.18, 1.8)
MID_RING_SCALE = (1.75, 1.5, 2.0)
OUTER_RING_SCALE = (2.15, 1.85, 2.2)
HAIR_MARGIN = 0.08         # head ring this far (in face-oval radii) past where the head layer ends
OUTLINE_BAND_W = 0.05     # landmarks this close to the face oval (in face widths) take some of its depth
MAX_RING_GROW = 1.7        # a ring grows at most this much for big hair or a hat
RING_FOLLOW = 0.25         # share of the head motion the middle ring takes (its upper part)
NECK_STAY = 0.9            # the head ring's bottom point takes 1 - this of the head motion (it sits low on
                           # the neck: more and a nod bares the plate under the neck's faded base)
# A nod warped from one frontal photo reads smaller than it is (no occlusion or shading change):
# the landmark model sees about 2/3 of the commanded pitch on our portraits, so pitch is scaled up.
PITCH_GAIN = 1.4
CAMERA_DISTANCE_M = 0.6    # for head z translation -> scale
INTEROCULAR_M = 0.063      # adult pupil distance: pixels per metre for head x/y


def face_frame(landmarks: np.ndarray) -> dict:
    """Reference sizes of a face: centre, face height F (forehead top to chin), width W (cheek to cheek),
    mouth width, eye_span (outer eye corner to corner), all in pixels."""
    p = landmarks[:, :2].astype(np.float64)
    oval = p[FACE_OVAL]
    return {"centre": (oval.min(0) + oval.max(0)) / 2, "F": float(np.linalg.norm(p[10] - p[152])),
            "W": float(np.linalg.norm(p[234] - p[454])), "mouth_w": float(np.linalg.norm(p[61] - p[291])),
            "eye_span": float(np.linalg.norm(p[33] - p[263]))}


def _ring_scales(landmarks: np.ndarray, scale: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(36,) scale per face-oval point, the face centre (2,), and the oval's offsets from it (36, 2)."""
    p = landmarks[FACE_OVAL, :2].astype(np.float64)
    c = face_frame(landmarks)["centre"]
    d = p - c
    dy = d[:, 1] / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    up, side, down = scale
    return side + (up - side) * np.clip(-dy, 0, None) + (down - side) * np.clip(dy, 0, None), c, d


def ring(landmarks: np.ndarray, scale: tuple[float, float, float], grow: np.ndarray | None = None) -> np.ndarray:
    """(36, 2) points: the face oval pushed out from the face centre, more upwards (hair) than down;
    `grow` (36,) >= 1 pushes each point further out (head_grow: hair or a hat reaching past it)."""
    s, c, d = _ring_scales(landmarks, scale)
    if grow is not None:
        s = s * grow
    return c + d * s[:, None]


def head_grow(landmarks: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """(36,) factors >= 1 for the rings, from a head layer (S, S) 0..1 (background.head_layer): along
    each face-oval direction at or above the ears, the head ring moves out to where the layer ends
    (+ HAIR_MARGIN), so hair and hats move with the head instead of stretching; the neck (downward
    directions) keeps its ring. Where the layer runs off the image, it counts as continuing."""
    s, c, d = _ring_scales(landmarks, HEAD_RING_SCALE)
    size_y, size_x = layer.shape
    t = np.linspace(1.0, s.max() * MAX_RING_GROW, 96)
    pts = c[None, None] + d[:, None] * t[None, :, None]                        # (36, T, 2)
    xi = np.clip(pts[..., 0].astype(int), 0, size_x - 1)
    yi = np.clip(pts[..., 1].astype(int), 0, size_y - 1)
    inside = layer[yi, xi] >= 0.5
    first_out = np.where(inside.all(1), len(t) - 1, np.argmin(inside, axis=1))
    reach = t[first_out] + HAIR_MARGIN
    dy = d[:, 1] / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    upward = np.clip(1.0 - 3.0 * dy, 0.0, 1.0)        # 1 at and above the ears, 0 from ~20 degrees down
    grow = 1.0 + upward * (np.clip(reach / s, 1.0, MAX_RING_GROW) - 1.0)
    # no single spike: each point keeps at least the mean of its neighbours' growth
    nb = (np.roll(grow, 1) + np.roll(grow, -1)) / 2
    return np.maximum(grow, 1.0 + upward * (nb - 1.0))


def outline_depth(landmarks: np.ndarray) -> np.ndarray:
    """(N,) landmark depths for posing: near the face's outline in the picture they ease to the depth of
    the face oval where it passes nearest (all of it at and outside the oval, none from OUTLINE_BAND_W
    face widths in). On a face photographed turned, the far cheek's landmarks crowd up to the outline
    and some stand past the oval (which lies further back, round the side of the head); with their own
    nearer depths a turn moves them two to three times as far as the oval points beside them, and the
    hair and background edge along the outline comes out as a saw-tooth."""
    z = landmarks[:, 2].astype(np.float64).copy()
    p = landmarks[:N_LANDMARKS, :2].astype(np.float64)
    a = p[FACE_OVAL]
    ab = np.roll(a, -1, axis=0) - a
    za = z[FACE_OVAL]
    dz = np.roll(za, -1) - za
    q = p[:, None]                                                    # (468, 1, 2) against 36 segments
    t = np.clip(((q - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0.0, 1.0)
    dist = np.linalg.norm(a + t[..., None] * ab - q, axis=-1)
    k = np.argmin(dist, axis=1)
    rows = np.arange(len(k))
    z_oval = za[k] + t[rows, k] * dz[k]
    w = np.clip(dist[rows, k] / (OUTLINE_BAND_W * face_frame(landmarks)["W"]), 0.0, 1.0)
    w[~inside_polygon(p, a)] = 0.0
    w[FACE_OVAL] = 1.0
    z[:N_LANDMARKS] = z_oval + w * (z[:N_LANDMARKS] - z_oval)
    return z


def head_ring(landmarks: np.ndarray) -> np.ndarray:
    """(36, 2) outline of the head as facecast moves it: face, hair margin and upper neck."""
    return ring(landmarks, HEAD_RING_SCALE)


def iris_points(landmarks: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """(6, 3) iris vertices: per eye the centre and the horizontal rim points, pulled inside the eye
    opening (a rim point under a lid would drag the lid along)."""
    out = []
    for eye, ir in zip(("right", "left"), iris):
        lids = EYE_LIDS[eye]
        a, b = landmarks[lids["corners"][0], :2], landmarks[lids["corners"][1], :2]
        eye_w = float(np.linalg.norm(a - b))
        top = landmarks[lids["upper"], 1].max()
        bottom = landmarks[lids["lower"], 1].min()
        c = ir[0].copy()
        c[1] = np.clip(c[1], top, bottom) if top < bottom else (top + bottom) / 2
        lo_x, hi_x = min(a[0], b[0]) + 0.1 * eye_w, max(a[0], b[0]) - 0.1 * eye_w
        r = min(float(np.abs(ir[1:, 0] - ir[0, 0]).max()), 0.25 * eye_w)
        for dx in (0.0, -r, r):
            q = c.copy()
            q[0] = np.clip(c[0] + dx, lo_x, hi_x)
            out.append(q)
    return np.asarray(out, np.float64)


@dataclass
class Rig:
    """Vertices and triangles of one avatar. rest (N, 3) float64 pixels; triangles (M, 3) int64;
    follow (N,) share of the head motion each vertex takes (1 head, RING_FOLLOW middle ring, 0 outer);
    pivot (3,) rotation centre; px_per_m for translations; frame: face_frame of the landmarks."""

    rest: np.ndarray
    triangles: np.ndarray
    follow: np.ndarray
    pivot: np.ndarray
    px_per_m: float
    frame: dict
    n_head: int           # vertices [0, n_head) are the face, iris, skin ring and head ring
    outer_start: int      # vertices [outer_start, N) are the fixed outer ring


def ring_grows(landmarks: np.ndarray, grow: np.ndarray | None) -> tuple:
    """head_grow's (36,) factors -> the factors for the (head, middle, outer) rings: the head ring takes
    them whole; the middle and outer rings only move out as far as keeps half their usual gap outside
    the ring within (the background is the still plate, so a wide band buys nothing, and every pixel
    inside the outer ring's box is warped each frame)."""
    if grow is None:
        return None, None, None
    h0, m0, o0 = (_ring_scales(landmarks, sc)[0] for sc in (HEAD_RING_SCALE, MID_RING_SCALE, OUTER_RING_SCALE))
    head = h0 * grow
    mid = np.maximum(m0, head + 0.5 * (m0 - h0))
    outer = np.maximum(o0, mid + 0.5 * (o0 - m0))
    return grow, mid / m0, outer / o0


def build_rig(landmarks: np.ndarray, iris: np.ndarray, open_mouth: np.ndarray | None = None,
              grow: np.ndarray | None = None) -> Rig:
    """The avatar's mesh. `open_mouth` (N, 2) optional vertex offsets applied only while
    triangulating (the jaw basis), so triangles follow the lip edges; `grow` (36,) head_grow's
    factors for the head, middle and outer rings."""
    lmk = landmarks.astype(np.float64)
    lmk[:, 2] = outline_depth(lmk)
    fr = face_frame(lmk)
    ears = lmk[[234, 454]]
    pivot = np.array([ears[:, 0].mean(), ears[:, 1].mean() + 0.1 * fr["F"], ears[:, 2].mean() + 0.15 * fr["W"]])
    irs = iris_points(lmk, iris)
    oval_z = lmk[FACE_OVAL, 2]
    skin = np.column_stack([ring(lmk, SKIN_RING_SCALE), oval_z + 0.5 * (pivot[2] - oval_z)])
    rings = [ring(lmk, s, g) for s, g in zip((HEAD_RING_SCALE, MID_RING_SCALE, OUTER_RING_SCALE),
                                              ring_grows(lmk, grow))]
    ring_pts = [np.column_stack([r, np.full(len(r), pivot[2])]) for r in rings]
    rest = np.concatenate([lmk, irs, skin] + ring_pts)
    n_head = MID_START
    # The lower part of the head ring is neck: its base stays on the shoulders while the head turns.
    c = fr["centre"]
    down = np.clip((rings[0][:, 1] - c[1]) / np.maximum(np.linalg.norm(rings[0] - c, axis=1), 1e-9), 0, 1)
    follow = np.ones(len(rest))
    follow[SKIN_START:HEAD_START] = 1.0 - 0.5 * NECK_STAY * down
    follow[HEAD_START:MID_START] = 1.0 - NECK_STAY * down
    follow[MID_START:OUTER_START] = RING_FOLLOW * (1.0 - down)
    follow[OUTER_START:] = 0.0
    tri_pts = rest[:, :2] + (open_mouth if open_mouth is not None else 0.0)
    # Two layers, split along the head ring, so no triangle joins the face to the background directly:
    # whatever moves with a still head stays inside the ring.
    inner = Delaunay(tri_pts[:n_head]).simplices
    inner = inner[inside_polygon(tri_pts[inner].mean(1), rings[0])]
    outer = Delaunay(rest[HEAD_START:, :2]).simplices + HEAD_START
    outer = outer[~inside_polygon(rest[outer, :2].mean(1), rings[0])]
    outer = outer[~(outer >= OUTER_START).all(axis=1)]   # hull slivers of the fixed ring
    tri = np.concatenate([inner, outer]).astype(np.int64)
    px_per_m = fr["eye_span"] / (INTEROCULAR_M * 1.45)   # outer-corner span is ~1.45 x the pupil distance
    return Rig(rest, tri, follow, pivot, px_per_m, fr, n_head, OUTER_START)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: which (N, 2) points lie inside the closed (K, 2) polygon (even-odd rule)."""
    x, y = points[:, 0:1], points[:, 1:2]
    ax, ay = polygon[:, 0], polygon[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    crosses = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = ax + (y - ay) * (bx - ax) / (by - ay)
    return (crosses & (x < x_at)).sum(1) % 2 == 1


def rotation(pitch_deg: float, yaw_deg: float, roll_deg: float) -> np.ndarray:
    """3x3 rotation in image axes (x right, y down, z away from the camera) for schema.HEAD_FIELDS
    signs: yaw > 0 turns the face to the viewer's right, pitch > 0 nods the chin down, roll > 0 tilts
    the top of the head to the viewer's right."""
    p, y, r = np.radians([pitch_deg, yaw_deg, roll_deg])
    # yaw about the vertical axis: the nose (z < pivot) goes to +x for yaw > 0
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    # pitch about the horizontal axis: the nose goes to +y (down) for pitch > 0
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    # roll in the image plane: points above the pivot go to +x for roll > 0
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def posed(rig: Rig, verts: np.ndarray, head: np.ndarray) -> np.ndarray:
    """(N, 3) positions of deformed (N, 3) vertices under head pose `head` (schema.HEAD_FIELDS:
    pitch, yaw, roll deg; x, y, z m), each vertex taking its `follow` share; x, y projected
    orthographically, z kept for drawing order."""
    pitch, yaw, roll, x_m, y_m, z_m = (float(v) for v in head)
    pitch *= PITCH_GAIN
    scale = CAMERA_DISTANCE_M / max(CAMERA_DISTANCE_M - z_m, 0.1)
    moved = (verts - rig.pivot) @ rotation(pitch, yaw, roll).T * scale + rig.pivot
    moved[:, 0] += x_m * rig.px_per_m     # x > 0: to the person's own left = viewer's right
    moved[:, 1] -= y_m * rig.px_per_m     # y > 0: up
    return verts + rig.follow[:, None] * (moved - verts)
