"""The 52 ARKit blendshapes as vertex displacements of a Rig, plus gaze as an iris shift.

    basis = blend_basis(rig)                 # (52, N, 2) float32 pixels at weight 1
    verts_xy = rig.rest[:, :2] + np.tensordot(weights, basis, 1) + gaze_offsets(rig, gaze)

Every shape is defined from the face's own proportions (face height F, width W, mouth width, eye
heights), so the same weights read the same on any portrait. A shape moves a few control landmarks
by a stated amount; `_spread` carries the motion to the landmarks near them with a Gaussian falloff,
limited to the region the shape belongs to (a brow shape never moves an eyelid). Shapes the 2-D
warp cannot show (jawForward, cheek puff depth, tongueOut) move nothing or only their visible part.
"""

from __future__ import annotations

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES
from facecast.runtime.engine.avatar.mesh import (BROWS, EYE_LIDS, FACE_OVAL, HEAD_START, IRIS_START, LOWER_INNER_LIP,
                                          LOWER_OUTER_LIP, MOUTH_CORNERS, N_IRIS, N_LANDMARKS, SKIN_START,
                                          UPPER_INNER_LIP, UPPER_OUTER_LIP, Rig)

JAW_DROP_F = 0.2           # chin drop at jawOpen = 1, as a share of the face height: at 0.26 the chin
                           # ran down over the collar on the docs' sheets
JAW_DEPTH_W = 0.65         # the chin lies this far (face widths) in front of the jaw's hinges
SIDES = ("right", "left")  # the person's; ARKit "Left" = the person's left = image right
SIGN = {"right": -1.0, "left": 1.0}   # image x direction of "outwards" on that side


class _Basis:
    def __init__(self, rig: Rig):
        self.rig = rig
        self.p = rig.rest[:, :2]
        self.n = len(self.p)
        self.fr = rig.frame
        self.mw = self.fr["mouth_w"]
        self.F, self.W = self.fr["F"], self.fr["W"]
        self.mid_x = float(self.p[[1, 168], 0].mean())
        self.out = np.zeros((len(BLENDSHAPE_NAMES), self.n, 2))
        self.face = np.zeros(self.n, bool)
        self.face[:N_LANDMARKS + N_IRIS] = True
        self.side = {"left": self.face & (self.p[:, 0] > self.mid_x), "right": self.face & (self.p[:, 0] <= self.mid_x)}

    def set(self, name: str, delta: np.ndarray) -> None:
        self.out[BLENDSHAPE_NAMES.index(name)] += delta

    def spread(self, idx, delta, sigma: float, allowed: np.ndarray) -> np.ndarray:
        """(N, 2): `delta` (len(idx), 2) on the landmarks idx, Gaussian-weighted to the allowed vertices
        (allowed: (N,) bool, or float weights that fade a region in smoothly)
        near them (a normalized kernel average, fading to 0 at a few sigma), exact on idx itself."""
        idx = np.asarray(idx)
        delta = np.broadcast_to(np.asarray(delta, np.float64), (len(idx), 2))
        d2 = ((self.p[:, None, :] - self.p[idx][None]) ** 2).sum(-1)
        k = np.exp(-d2 / (2 * sigma ** 2))
        out = (k[:, :, None] * delta[None]).sum(1) / np.maximum(k.sum(1), 1.0)[:, None]
        out *= np.asarray(allowed, np.float64)[:, None]   # a mask, or a soft 0..1 weight
        out[idx] = delta
        return out


def _lower_lid(p: np.ndarray, lids: dict):
    """y of the lower lid at any x (piecewise linear through its corners and lower points)."""
    idx = [lids["corners"][0]] + lids["lower"] + [lids["corners"][1]]
    xs, ys = p[idx, 0], p[idx, 1]
    order = np.argsort(xs)
    return lambda x: np.interp(x, xs[order], ys[order])


def _eyes(b: _Basis) -> None:
    p = b.p
    for side, arkit in zip(SIDES, ("Right", "Left")):
        lids = EYE_LIDS[side]
        ylow = _lower_lid(p, lids)
        up, up2, low, low2 = (np.array(lids[k]) for k in ("upper", "upper2", "lower", "lower2"))
        iris = np.arange(IRIS_START + 3 * SIDES.index(side), IRIS_START + 3 * SIDES.index(side) + 3)
        eye_h = float(np.mean(ylow(p[up, 0]) - p[up, 1]))
        blink = np.zeros((b.n, 2))
        rise = 0.12 * eye_h                                  # the lower lid comes up a little too
        close = ylow(p[up, 0]) - rise - p[up, 1]
        blink[up, 1] = close
        blink[up2, 1] = close                                # the lid skin above the crease stretches over the eye
        blink[low, 1] = -rise
        blink[low2, 1] = -0.5 * rise
        blink[iris, 1] = np.maximum(ylow(p[iris, 0]) - rise - p[iris, 1], 0)
        b.set(f"eyeBlink{arkit}", blink)
        squint = np.zeros((b.n, 2))
        squint[low, 1], squint[low2, 1], squint[up, 1] = -0.3 * eye_h, -0.15 * eye_h, 0.1 * eye_h
        b.set(f"eyeSquint{arkit}", squint)
        wide = np.zeros((b.n, 2))
        wide[up, 1], wide[up2, 1] = -0.22 * eye_h, -0.12 * eye_h
        b.set(f"eyeWide{arkit}", wide)


def _brows(b: _Basis) -> None:
    p, F, W = b.p, b.F, b.W
    for side, arkit in zip(SIDES, ("Right", "Left")):
        lids = EYE_LIDS[side]
        brow_line = p[lids["upper2"], 1].min() - 0.01 * F   # nothing at or below the lid crease moves
        allowed = b.side[side] & (p[:, 1] < brow_line)
        br = BROWS[side]
        allb = br["inner"] + br["mid"] + br["outer"]
        inward = -SIGN[side] * 0.012 * W
        down = [(inward if i in br["inner"] else 0.0, 0.035 * F) for i in allb]
        b.set(f"browDown{arkit}", b.spread(allb, down, 0.12 * W, allowed))
        outer = [(0.0, -0.045 * F)] * len(br["outer"]) + [(0.0, -0.02 * F)] * len(br["mid"])
        b.set(f"browOuterUp{arkit}", b.spread(br["outer"] + br["mid"], outer, 0.1 * W, allowed))
        inner = [(0.0, -0.05 * F)] * len(br["inner"]) + [(0.0, -0.022 * F)] * len(br["mid"])
        b.set("browInnerUp", b.spread(br["inner"] + br["mid"], inner, 0.1 * W, allowed))


def jaw_turn(b: _Basis) -> np.ndarray:
    """(N,) each vertex's drop as a share of the chin's when the jaw turns open about its hinge (the
    line through the ears' landmarks, 234 and 454). Seen from the front, a point d in front of the
    hinge and h below it drops by d sin(a) - h (1 - cos(a)); the jaw is taken as a half-ellipse in
    depth, JAW_DEPTH_W face widths deep at the chin and 0 at the hinges, so the chin and the front of
    the jaw drop most and the jaw line's sides, near the hinge's depth, least: the lower face turns
    as a jaw instead of sliding down as a block. (The landmarks' own depths are too noisy for this:
    neighbours along the jaw line came out with steps between them.)"""
    p, F = b.p, b.F
    hinge = p[[234, 454]].mean(0)
    half_w = max(0.5 * abs(p[454, 0] - p[234, 0]), 1e-6)
    depth = JAW_DEPTH_W * b.W * np.sqrt(np.clip(1.0 - ((p[:, 0] - hinge[0]) / half_w) ** 2, 0.0, 1.0))
    below = np.clip(p[:, 1] - hinge[1], 0.0, None)
    d_chin, h_chin = max(float(depth[152]), 1e-6), max(float(below[152]), 1e-6)
    # the angle that drops the chin JAW_DROP_F face heights
    angles = np.radians(np.linspace(0.5, 60.0, 240))
    chin = d_chin * np.sin(angles) - h_chin * (1 - np.cos(angles))
    a = angles[min(int(np.searchsorted(chin, JAW_DROP_F * F)), len(angles) - 1)]
    drop = depth * np.sin(a) - below * (1 - np.cos(a))
    drop = np.where(below > 0, drop, 0.0)                 # nothing above the hinge turns
    return np.clip(drop / max(float(drop[152]), 1e-6), 0.0, 1.0)


def jaw_weights(b: _Basis) -> np.ndarray:
    """(N,) how far each vertex follows the chin when the jaw opens: 0 at and above the mouth
    corners, rising below them, times the jaw's turn about its hinge (jaw_turn)."""
    p, F = b.p, b.F
    y_corner = p[[61, 291], 1].mean()
    t = np.clip((p[:, 1] - y_corner) / (0.08 * F), 0, 1)
    g = jaw_turn(b)
    w = t * g
    w[UPPER_OUTER_LIP + UPPER_INNER_LIP] = 0
    lower = LOWER_OUTER_LIP + LOWER_INNER_LIP
    # the lower lip opens most in the middle, tapering to the corners: a lens, not a stretched corner
    mid_x, half_w = p[[61, 291], 0].mean(), max(abs(p[291, 0] - p[61, 0]) / 2, 1e-6)
    taper = 0.35 + 0.65 * np.clip(1 - ((p[lower, 0] - mid_x) / half_w) ** 2, 0, 1)
    w[lower] = g[lower] * taper
    for c in MOUTH_CORNERS.values():
        w[c] = 0.35 * g[c]
    w[IRIS_START:IRIS_START + N_IRIS] = 0
    # The chin slides over the neck: the jaw's motion fades out inside the head ring, which stays put
    # (everything outside the head then stays bit-identical while the head is still).
    w[SKIN_START:] = 0
    w[SKIN_START:HEAD_START] = 0.9 * w[FACE_OVAL]   # the skin ring just outside the jaw goes with it
    return w


def _mouth(b: _Basis) -> None:
    p, mw, F = b.p, b.mw, b.F
    jw = jaw_weights(b)
    jaw = np.zeros((b.n, 2))
    jaw[:, 1] = JAW_DROP_F * F * jw
    b.set("jawOpen", jaw)
    for name, sgn in (("jawLeft", 1.0), ("jawRight", -1.0)):
        d = np.zeros((b.n, 2))
        d[:, 0] = sgn * 0.1 * mw * jw
        b.set(name, d)
    lower, upper = LOWER_OUTER_LIP + LOWER_INNER_LIP, UPPER_OUTER_LIP + UPPER_INNER_LIP
    lip_drop = float(jaw[LOWER_INNER_LIP, 1].mean())
    close = np.zeros((b.n, 2))
    close[lower, 1] = -0.62 * jaw[lower, 1]
    close[upper, 1] = 0.38 * lip_drop
    b.set("mouthClose", close)

    mouth_c = p[[13, 14]].mean(0)
    # fading in below the nose: pulling the nostrils along, or cutting off sharply, folds the skin
    below_nose = np.clip((p[:, 1] - p[2, 1]) / (0.6 * (mouth_c[1] - p[2, 1])), 0, 1)
    near_mouth = (b.face & (np.linalg.norm(p - mouth_c, axis=1) < 1.1 * mw)) * below_nose
    half_w = max(abs(p[291, 0] - p[61, 0]) / 2, 1e-6)
    lens = lambda idx: np.clip(1 - ((p[idx, 0] - mouth_c[0]) / half_w) ** 2, 0, 1)  # noqa: E731
    lips = UPPER_OUTER_LIP + LOWER_OUTER_LIP + UPPER_INNER_LIP + LOWER_INNER_LIP
    corner_ids = MOUTH_CORNERS["right"] + MOUTH_CORNERS["left"]
    to_centre = [(-SIGN[s] * 0.14 * mw, 0.0) for s in ("right", "right", "left", "left")]
    funnel = b.spread(corner_ids, to_centre, 0.3 * mw, near_mouth)
    funnel[UPPER_INNER_LIP, 1] -= 0.07 * mw * lens(UPPER_INNER_LIP)
    funnel[LOWER_INNER_LIP, 1] += 0.09 * mw * lens(LOWER_INNER_LIP)
    b.set("mouthFunnel", funnel)
    pucker = b.spread(corner_ids, [(x * 1.15, 0.0) for x, _ in to_centre], 0.3 * mw, near_mouth)
    b.set("mouthPucker", pucker)
    for name, sgn in (("mouthLeft", 1.0), ("mouthRight", -1.0)):
        b.set(name, b.spread(lips, (sgn * 0.12 * mw, 0.0), 0.25 * mw, near_mouth))
    b.set("mouthShrugLower", b.spread(lower, (0.0, -0.035 * mw), 0.2 * mw, near_mouth * (p[:, 1] > mouth_c[1])))
    b.set("mouthShrugUpper", b.spread(upper, (0.0, -0.025 * mw), 0.2 * mw, near_mouth * (p[:, 1] < mouth_c[1])))
    up_thick = p[UPPER_INNER_LIP[1:-1], 1] - p[UPPER_OUTER_LIP[1:-1], 1]
    low_thick = p[LOWER_OUTER_LIP, 1] - p[LOWER_INNER_LIP, 1]
    roll_u = np.zeros((b.n, 2))
    roll_u[UPPER_OUTER_LIP[1:-1], 1] = 0.45 * up_thick
    b.set("mouthRollUpper", roll_u)
    roll_l = np.zeros((b.n, 2))
    roll_l[LOWER_OUTER_LIP, 1] = -0.45 * low_thick
    b.set("mouthRollLower", roll_l)
    for side, arkit in zip(SIDES, ("Right", "Left")):
        s = SIGN[side]
        mine = b.side[side] * near_mouth
        corners = MOUTH_CORNERS[side]
        sig = 0.33 * mw
        b.set(f"mouthSmile{arkit}", b.spread(corners, (s * 0.1 * mw, -0.08 * mw), sig, mine))
        b.set(f"mouthFrown{arkit}", b.spread(corners, (s * 0.02 * mw, 0.09 * mw), sig, mine))
        b.set(f"mouthStretch{arkit}", b.spread(corners, (s * 0.11 * mw, 0.03 * mw), sig, mine))
        b.set(f"mouthDimple{arkit}", b.spread(corners, (s * 0.06 * mw, 0.0), sig, mine))
        up_side = [i for i in upper if b.side[side][i]]
        b.set(f"mouthUpperUp{arkit}", b.spread(up_side, (0.0, -0.08 * mw), 0.2 * mw,
                                               mine * (p[:, 1] < mouth_c[1])))
        low_side = [i for i in lower if b.side[side][i]]
        b.set(f"mouthLowerDown{arkit}", b.spread(low_side, (0.0, 0.08 * mw), 0.2 * mw,
                                                 mine * (p[:, 1] > mouth_c[1])))
        press = np.zeros((b.n, 2))
        uo = [i for i in UPPER_OUTER_LIP[1:-1] if b.side[side][i]]
        lo = [i for i in LOWER_OUTER_LIP if b.side[side][i]]
        press[uo, 1] = 0.3 * up_thick[[UPPER_OUTER_LIP[1:-1].index(i) for i in uo]]
        press[lo, 1] = -0.3 * low_thick[[LOWER_OUTER_LIP.index(i) for i in lo]]
        b.set(f"mouthPress{arkit}", press)


def _cheeks(b: _Basis) -> None:
    p, F, W = b.p, b.F, b.W
    below_eyes = b.face & (p[:, 1] > p[[145, 374], 1].max() + 0.02 * F)
    puff_idx = {"right": [205, 50, 187], "left": [425, 280, 411]}
    squint_idx = {"right": [117, 118, 101], "left": [346, 347, 330]}
    sneer_idx = {"right": [129, 64, 48], "left": [358, 294, 278]}
    for side, arkit in zip(SIDES, ("Right", "Left")):
        mine = b.side[side] & below_eyes
        b.set("cheekPuff", b.spread(puff_idx[side], (SIGN[side] * 0.04 * W, 0.0), 0.12 * W, mine))
        b.set(f"cheekSquint{arkit}", b.spread(squint_idx[side], (0.0, -0.03 * F), 0.1 * W, mine))
        b.set(f"noseSneer{arkit}", b.spread(sneer_idx[side], (0.0, -0.02 * F), 0.05 * W, mine))


def blend_basis(rig: Rig) -> np.ndarray:
    """(52, N, 2) float32: each ARKit blendshape's vertex displacement in pixels at weight 1."""
    b = _Basis(rig)
    _eyes(b)
    _brows(b)
    _mouth(b)
    _cheeks(b)
    return b.out.astype(np.float32)


EYE_YAW_RANGE = 0.15       # iris shift at 30 degrees of eye yaw, as a share of the eye width
EYE_PITCH_RANGE = 0.25     # at 25 degrees of eye pitch, as a share of the eye height


def gaze_offsets(rig: Rig, gaze: np.ndarray) -> np.ndarray:
    """(N, 2) iris displacement for gaze (schema.GAZE_FIELDS: left yaw, left pitch, right yaw, right pitch,
    degrees; yaw > 0 looks to the face's own left = image right, pitch > 0 looks down)."""
    out = np.zeros((len(rig.rest), 2))
    p = rig.rest[:, :2]
    for side, (yaw, pitch) in (("left", gaze[0:2]), ("right", gaze[2:4])):
        lids = EYE_LIDS[side]
        eye_w = float(np.linalg.norm(p[lids["corners"][0]] - p[lids["corners"][1]]))
        eye_h = float(np.mean(p[lids["lower"][2:5], 1]) - np.mean(p[lids["upper"][2:5], 1]))
        dx = np.clip(np.sin(np.radians(yaw)) / np.sin(np.radians(30)), -1.2, 1.2) * EYE_YAW_RANGE * eye_w
        dy = np.clip(np.sin(np.radians(pitch)) / np.sin(np.radians(25)), -1.2, 1.2) * EYE_PITCH_RANGE * eye_h
        start = IRIS_START + 3 * SIDES.index(side)
        out[start:start + 3] = (dx, dy)
    return out
