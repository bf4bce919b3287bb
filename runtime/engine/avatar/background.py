"""Head-vs-background at prepare time: a soft head layer and a background plate with the head taken out.

    person = person_alpha(image, landmarks)             # (S, S) float32 0..1: head, hair, neck, body
    layer = head_layer(person, landmarks)               # (S, S) float32 0..1: the part that moves
    plate = background_plate(image, layer, landmarks)   # (S, S, 3) uint8: the portrait, head filled in

The renderer warps the layer with the head and lays it over the still plate, so that what a turning
head uncovers is filled background, not the picture stretched.

person_alpha is GrabCut-like, on a 128-px copy of the crop: colour GMMs for person and background
alternate with a min-cut (scipy's max-flow) over a contrast-sensitive 8-neighbour grid. A shape
prior bounds the head: above the jaw nothing outside head_envelope (a superellipse 0.35 face widths
past the cheeks and 0.6 face heights past the forehead top) is person, and all of that band is
sure background the background model learns from. Above the chin the person model is face and hair
only, learnt once from the face oval and a thin band over the forehead, and a colour it does not
explain counts as background (a bright window behind short hair); below the chin the body model
is refitted each round. A weak spatial prior favours the person near the head, on the hair line
and below the chin. The cut is brought back to full size by a colour guided filter, which gives
hair and edges a soft alpha that follows the picture, clipped to the envelope. The face oval is
always fully person.

head_layer keeps the part of the person that belongs to the head: everything above the jaw, and
below it only what lies inside the mesh's head ring (the neck), faded out towards the neck's base
so that shoulders and body stay in the plate and never swing with the head. The layer's support
(alpha > 0) is also where a still head may draw (the renderer cuts its flow there), so it takes in
the jaw's reach: the head ring's inside below the mouth corners, where an open or sideways jaw
moves the chin and jaw line over the background beside and under them. Where only the reach puts
it, the layer is REACH_ALPHA (the stored mask's 1) and the plate keeps the picture: unmoved it is
the portrait, and background carried along by the jaw is the picture's own.

background_plate fills the layer's support by push-pull (a pyramid of weighted averages of the
known pixels, coarse levels filling the holes of fine ones), then adds grain matched to the
background's own local noise level so the fill does not read as a flat smear.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from facecast.runtime.engine.avatar.mesh import (FACE_OVAL, HEAD_RING_SCALE, OUTER_RING_SCALE,
                                          face_frame, head_grow, ring, ring_grows)

CUT_SIZE_PX = 128          # side of the copy the graph cut runs on
GMM_COMPONENTS = 5
CUT_ROUNDS = 8             # GMM fit <-> min-cut alternations: a window learnt as background takes a few more
SMOOTHNESS = 6.0           # pairwise weight against the data term (nats)
COST_SCALE = 40            # float costs -> the integer capacities max-flow takes
GUIDE_RADIUS_PX = 6        # guided-filter window at full size, for a 512-px crop
GUIDE_EPS = 2e-3
NECK_FADE_F = (0.12, 0.38)  # layer fades from 1 to 0 between chin + these x face height
PLATE_SEED = 1234          # the grain is fixed per portrait: the plate must not flicker between loads
EDGE_FADE = 0.05           # the head layer fades out over this share of the crop next to its edges
EXTEND_BLEND_PX = 3.0      # a close-up's fill past the photo's edge fades in over this many pixels
REACH_ALPHA = 1.0 / 255    # the layer where only the jaw's reach puts it (a uint8 mask's 1); person below 2
# How far past the face oval a head can reach (hair, hats), in face heights F straight up and face
# widths W sideways, along the face's own axes; below the jaw the head layer is bounded by the head
# ring instead (mesh.HEAD_RING_SCALE), and the body is not bounded at all.
ENVELOPE_UP_F = 0.6
ENVELOPE_SIDE_W = 0.35
ENVELOPE_POWER = 3.0       # of the superellipse over the head: rounder than a box, fuller than an ellipse
UNEXPLAINED_LL = -6.0       # log density (colours in the unit cube) the background gets for any colour
HAIRLINE_RING_SCALE = (1.25, 1.0, 1.0)
HAIRLINE_PRIOR = 1.0       # nats for person on the hair line (HAIRLINE_RING_SCALE)
SEED_RING_SCALE = (1.12, 1.0, 1.0)   # the cut's first guess at the person: the face and a thin band of hair


def _polygon(size: int, poly: np.ndarray, scale: float = 1.0) -> np.ndarray:
    im = Image.new("L", (size, size), 0)
    ImageDraw.Draw(im).polygon([tuple(p) for p in np.asarray(poly, np.float64)[:, :2] * scale], fill=1)
    return np.asarray(im).astype(bool)


def _face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit (up, right) vectors of the face in the image: up from the chin to the forehead top."""
    up = landmarks[10, :2].astype(np.float64) - landmarks[152, :2]
    up /= max(float(np.linalg.norm(up)), 1e-9)
    return up, np.array([-up[1], up[0]])


def head_envelope(landmarks: np.ndarray, size: int, n: int | None = None) -> np.ndarray:
    """(n, n) bool, n = size unless given: where the person may be, in an n x n copy of a size x size
    crop. In the face's own axes (up: chin to forehead top) about the face centre: above the centre,
    the half-superellipse (ENVELOPE_POWER) reaching ENVELOPE_SIDE_W face widths past the cheeks and ENVELOPE_UP_F face
    heights past the forehead top (a head is round: hair and hats narrow towards the top); from the
    centre down to the line through the jaw corners (172, 397), the band as wide as that;
    below that line, anything (neck, shoulders, body)."""
    n = size if n is None else n
    s = n / size
    fr = face_frame(landmarks)
    up, right = _face_axes(landmarks)
    half_w = (0.5 + ENVELOPE_SIDE_W) * fr["W"]
    half_h = (0.5 + ENVELOPE_UP_F) * fr["F"]
    yy, xx = (np.mgrid[:n, :n] + 0.5) / s
    dx, dy = xx - fr["centre"][0], yy - fr["centre"][1]
    t = dx * up[0] + dy * up[1]
    u = dx * right[0] + dy * right[1]
    inside = np.abs(u / half_w) ** ENVELOPE_POWER + (np.clip(t, 0, None) / half_h) ** ENVELOPE_POWER <= 1.0
    jaw = landmarks[[172, 397], :2].astype(np.float64).mean(0)
    below_jaw = (xx - jaw[0]) * up[0] + (yy - jaw[1]) * up[1] < 0
    return inside | below_jaw | _polygon(n, landmarks[FACE_OVAL], s)


# -- colour models ---------------------------------------------------------------------------------

class _Gmm:
    """Full-covariance Gaussian mixture over (N, 3) colours in 0..1, fitted by a few EM steps from a
    k-means++-style start (a fixed seed: preparation is deterministic)."""

    def __init__(self, x: np.ndarray, k: int = GMM_COMPONENTS, steps: int = 5):
        rng = np.random.default_rng(0)
        if len(x) > 6000:
            x = x[rng.choice(len(x), 6000, replace=False)]
        k = max(1, min(k, len(x) // 20))
        centres = [x[rng.integers(len(x))]]
        for _ in range(1, k):
            d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
            centres.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
        resp = np.eye(k)[np.argmin([((x - c) ** 2).sum(1) for c in centres], axis=0)]
        for _ in range(steps):
            self._m_step(x, resp)
            ll = self._component_ll(x)
            ll -= ll.max(1, keepdims=True)
            resp = np.exp(ll)
            resp /= resp.sum(1, keepdims=True)
        self._m_step(x, resp)

    def _m_step(self, x: np.ndarray, resp: np.ndarray) -> None:
        n = resp.sum(0) + 1e-6
        self.w = n / n.sum()
        self.mu = (resp.T @ x) / n[:, None]
        d = x[:, None, :] - self.mu[None]
        cov = np.einsum("nk,nki,nkj->kij", resp, d, d) / n[:, None, None]
        self.cov = cov + 1e-4 * np.eye(3)              # colour noise floor: no singular component
        self.prec = np.linalg.inv(self.cov)
        self.logdet = np.linalg.slogdet(self.cov)[1]

    def _component_ll(self, x: np.ndarray) -> np.ndarray:
        d = x[:, None, :] - self.mu[None]
        maha = np.einsum("nki,kij,nkj->nk", d, self.prec, d)
        return np.log(self.w)[None] - 0.5 * (maha + self.logdet[None] + 3 * np.log(2 * np.pi))

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """(N,) log density of (N, 3) colours."""
        ll = self._component_ll(x)
        top = ll.max(1)
        return top + np.log(np.exp(ll - top[:, None]).sum(1))


# -- graph cut -------------------------------------------------------------------------------------

def _min_cut(cost_fg: np.ndarray, cost_bg: np.ndarray, img: np.ndarray, smooth: float) -> np.ndarray:
    """(h, w) bool person labels minimizing sum of data costs (h, w) nats (cost_fg: of labelling a
    pixel person) plus a contrast-sensitive Potts term over 8 neighbours on img (h, w, 3) 0..1."""
    h, w = cost_fg.shape
    n = h * w
    idx = np.arange(n).reshape(h, w)
    src, snk = n, n + 1
    rows, cols, caps = [], [], []
    diffs = []
    pairs = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = idx[0:h - dy, max(0, -dx):w - max(0, dx)]
        b = idx[dy:h, max(0, dx):w + min(0, dx)]
        pairs.append((a.ravel(), b.ravel(), 1.0 / np.hypot(dy, dx)))
        diffs.append(((img.reshape(n, 3)[a.ravel()] - img.reshape(n, 3)[b.ravel()]) ** 2).sum(1))
    beta = 1.0 / (2.0 * max(float(np.mean(np.concatenate(diffs))), 1e-6))
    for (a, b, dist), d2 in zip(pairs, diffs):
        c = np.maximum(np.round(COST_SCALE * smooth * dist * np.exp(-beta * d2)), 1).astype(np.int64)
        rows += [a, b]
        cols += [b, a]
        caps += [c, c]
    # source side = person: the source edge is what labelling background costs, and the other way round
    big = np.int64(2 ** 24)
    to_src = np.minimum(np.round(COST_SCALE * np.clip(cost_bg, 0, None)), big).astype(np.int64).ravel()
    to_snk = np.minimum(np.round(COST_SCALE * np.clip(cost_fg, 0, None)), big).astype(np.int64).ravel()
    nodes = np.arange(n)
    rows += [np.full(n, src), nodes]
    cols += [nodes, np.full(n, snk)]
    caps += [to_src, to_snk]
    cap = sparse.csr_matrix((np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n + 2, n + 2))
    cap.sum_duplicates()
    flow = maximum_flow(cap, src, snk).flow
    residual = (cap - flow).tocsr()
    residual.data = np.where(residual.data > 0, 1, 0).astype(np.int32)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, src, directed=True, return_predecessors=False)
    fg = np.zeros(n + 2, bool)
    fg[reached] = True
    return fg[:n].reshape(h, w)


# -- the person, the head layer --------------------------------------------------------------------

def _zones(landmarks: np.ndarray, size: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At n x n: (face oval, sure background, person prior cost in nats for labelling background)."""
    s = n / size
    fr = face_frame(landmarks)
    face = _polygon(n, landmarks[FACE_OVAL], s)
    outer = _polygon(n, ring(landmarks, OUTER_RING_SCALE), s)
    head = _polygon(n, ring(landmarks, HEAD_RING_SCALE), s)
    yy, xx = (np.mgrid[:n, :n] + 0.5) / s
    eye_y = float(landmarks[[33, 263], 1].mean())
    mouth_y = float(landmarks[[61, 291], 1].mean())
    # the top corners: outside the fixed ring and above the middle of the face (shoulders never get there)
    sure_bg = ~outer & (yy < 0.5 * (eye_y + mouth_y))
    # and everything beside and above the head past where any hair or hat reaches: a wide band of
    # background that the colour model learns from (the backdrop right next to the head, not only
    # the far corners)
    sure_bg |= ~head_envelope(landmarks, size, n)
    chin_y = float(landmarks[152, 1])
    # weak prior: person inside the head ring, less and less likely the further out beside it (in
    # head-ring radii, along the ray from the face centre), half as fast straight above the head (hats, tall
    # hair); neutral on the body
    hr = ring(landmarks, HEAD_RING_SCALE) - fr["centre"]
    ang = np.arctan2(hr[:, 1], hr[:, 0])
    order = np.argsort(ang)
    dx, dy = xx - fr["centre"][0], yy - fr["centre"][1]
    ring_r = np.interp(np.arctan2(dy, dx), ang[order], np.linalg.norm(hr, axis=1)[order], period=2 * np.pi)
    r_norm = np.hypot(dx, dy) / ring_r
    below = np.clip((yy - chin_y) / (0.3 * fr["F"]), 0, 1)
    sideways = np.clip(np.abs(dx) / np.maximum(np.hypot(dx, dy), 1e-9) * 1.5 - 0.3, 0.0, 1.0)
    prior = np.where(head, 1.0, -(0.5 + 0.5 * sideways) * np.clip(3.0 * (r_norm - 1.0), 0.0, 1.5)) * (1 - below)
    # the hair line: right above the forehead the person is much more likely (short dark hair against
    # a dark window lattice is decided by place, not colour)
    prior[_polygon(n, ring(landmarks, HAIRLINE_RING_SCALE), s)] = HAIRLINE_PRIOR
    return face, sure_bg, prior


def _guided_filter(guide: np.ndarray, p: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s colour guided filter: p (H, W) smoothed, its edges taken from guide (H, W, 3) 0..1."""
    box = lambda a: ndimage.uniform_filter(a, 2 * radius + 1, mode="reflect")  # noqa: E731
    mean_i = np.stack([box(guide[..., c]) for c in range(3)], -1)
    mean_p = box(p)
    cov_ip = np.stack([box(guide[..., c] * p) for c in range(3)], -1) - mean_i * mean_p[..., None]
    var = np.empty(guide.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(i, 3):
            var[..., i, j] = var[..., j, i] = box(guide[..., i] * guide[..., j]) - mean_i[..., i] * mean_i[..., j]
    a = np.linalg.solve(var + eps * np.eye(3), cov_ip[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    mean_a = np.stack([box(a[..., c]) for c in range(3)], -1)
    return (mean_a * guide).sum(-1) + box(b)


def person_alpha(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(S, S) float32 0..1: how much of each pixel is the person (head, hair, neck, body) rather than
    background. image (S, S, 3) uint8, landmarks (468, 3) in its pixels."""
    size = image.shape[0]
    n = min(CUT_SIZE_PX, size)
    small = np.asarray(Image.fromarray(image).resize((n, n), Image.BOX), np.float64) / 255.0
    face, sure_bg, prior = _zones(landmarks, size, n)
    x = small.reshape(-1, 3)
    # the first guess: inside the head ring or on the body under the chin
    # the first guess: the face, a thin band of hair around it, and the body under the chin; the
    # rest of the head ring is left to the colours (a bright window behind short hair must not
    # teach the person model its colours)
    hair_seed = _polygon(n, ring(landmarks, SEED_RING_SCALE), n / size)
    below_chin = (np.arange(n)[:, None] + 0.5) * size / n > landmarks[152, 1]
    person = face | hair_seed | ((prior > -0.5) & ~sure_bg & below_chin)
    # background colours are learnt above the chin only: what the cut leaves out of the body (a dark
    # helmet, a shirt's shadow) is not background, and would teach the model to drop dark hair
    # The first round learns the background from the sure corners alone (GrabCut's "outside the box"):
    # hair past the first guess must not be taught as background.
    upper = (np.arange(n)[:, None] + 0.5) * size / n < landmarks[152, 1]
    bg_pixels = sure_bg
    bottom = np.zeros((n, n), bool)
    bottom[-2:] = True
    bottom &= below_chin
    # Above the chin the person is face and hair only, learnt once from the face and the thin band
    # around it: a white shirt in that model would claim a bright window behind the head, and so
    # would a patch of window the first cut took in.
    head_model = _Gmm(x[((face | hair_seed) & upper).ravel()])
    for _ in range(CUT_ROUNDS):
        fg_model = _Gmm(x[(person & ~sure_bg).ravel()])
        bg_model = _Gmm(x[bg_pixels.ravel()])
        ll_fg = np.where(upper, head_model.log_likelihood(x).reshape(n, n), fg_model.log_likelihood(x).reshape(n, n))
        ll_bg = bg_model.log_likelihood(x).reshape(n, n)
        # around the head, a colour neither face nor hair explains is background, even one the
        # background model has not seen (a window right behind the head, within the envelope)
        ll_bg = np.where(upper, np.logaddexp(ll_bg, UNEXPLAINED_LL), ll_bg)
        # costs relative to the better model, so both stay non-negative for the max-flow capacities
        cost_fg = np.clip(ll_bg - ll_fg - prior, -30, 30)
        cost_bg = -cost_fg
        cost_fg, cost_bg = np.clip(cost_fg, 0, None), np.clip(cost_bg, 0, None)
        cost_fg[face], cost_bg[face] = 0.0, 1e6
        cost_fg[sure_bg], cost_bg[sure_bg] = 1e6, 0.0
        new = _min_cut(cost_fg, cost_bg, small, SMOOTHNESS)
        lab, _ = ndimage.label(new)
        # only what is joined to the face, or the body coming in at the bottom edge (a white collar
        # may part it from the face where the backdrop is white too)
        keep = np.unique(lab[(face | bottom) & new])
        new = ndimage.binary_fill_holes(np.isin(lab, keep[keep > 0]))
        if (new == person).all():
            break
        person = new
        bg_pixels = (~person & upper) | sure_bg
    hard = np.asarray(Image.fromarray(person.astype(np.uint8) * 255).resize((size, size), Image.BILINEAR),
                      np.float64) / 255.0
    radius = max(2, round(GUIDE_RADIUS_PX * size / 512))
    alpha = _guided_filter(image.astype(np.float64) / 255.0, hard, radius, GUIDE_EPS)
    alpha = np.clip((alpha - 0.5) * 1.15 + 0.5, 0.0, 1.0)      # firmer core, same edge position
    # the guided filter may bleed a few pixels past the envelope; the envelope is a hard bound
    inside = ndimage.distance_transform_edt(head_envelope(landmarks, size))
    alpha *= np.clip(inside / max(2.0, 0.01 * size), 0.0, 1.0)
    alpha[_polygon(size, landmarks[FACE_OVAL])] = 1.0
    return alpha.astype(np.float32)


def _ring_box(landmarks: np.ndarray, size: int, grow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel bounds [lo, hi) of the mesh's fixed outer ring, inside the image, 2 px in."""
    r = ring(landmarks, OUTER_RING_SCALE, ring_grows(landmarks, grow)[2])
    lo = np.clip(np.ceil(r.min(0)) + 2, 0, size).astype(int)
    hi = np.clip(np.floor(r.max(0)) - 2, 0, size).astype(int)
    return lo, hi


def head_zone(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) float64 0..1: where the person counts as head: everything above the jaw, below it
    the inside of the head ring (the neck), fading out between chin + NECK_FADE_F face heights."""
    fr = face_frame(landmarks)
    yy = np.arange(size)[:, None] + 0.5
    jaw_y = float(landmarks[[172, 397], 1].mean())
    chin_y = float(landmarks[152, 1])
    top, base = (chin_y + f * fr["F"] for f in NECK_FADE_F)
    zone = np.where(yy < jaw_y, 1.0, _polygon(size, ring(landmarks, HEAD_RING_SCALE)))
    zone = ndimage.gaussian_filter(zone, 0.02 * fr["F"])
    return zone * np.clip((base - yy) / (base - top), 0.0, 1.0)


def jaw_reach(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) bool: where the jaw may draw with the head still: inside the head ring and below the
    mouth corners (the jaw's motion starts there and fades out at the head ring, which stays put)."""
    below = np.arange(size)[:, None] + 0.5 > float(landmarks[[61, 291], 1].min())
    return below & _polygon(size, ring(landmarks, HEAD_RING_SCALE))


def _edge_ramp(size: int) -> np.ndarray:
    """(S, S) 0..1: 0 on the crop's edge, 1 from EDGE_FADE x S inwards."""
    t = np.arange(size) + 0.5
    to_edge = np.minimum(t, size - t)
    return np.clip(np.minimum(to_edge[:, None], to_edge[None, :]) / (EDGE_FADE * size), 0.0, 1.0)


def head_layer(person: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(S, S) float32 0..1: the part of the person alpha (S, S) that moves with the head: person x
    head_zone, never past the box of the mesh's fixed outer ring (nothing outside it is redrawn);
    1 on the face oval; REACH_ALPHA where only jaw_reach puts it (alpha below 1.5 REACH_ALPHA is 0)."""
    size = person.shape[0]
    zone = head_zone(landmarks, size)
    # nothing outside the box of the mesh's fixed ring is ever redrawn (the renderer's region)
    lo, hi = _ring_box(landmarks, size, head_grow(landmarks, person * zone))
    inside = np.zeros((size, size), bool)
    inside[lo[1]:hi[1], lo[0]:hi[0]] = True
    layer = person * zone * inside
    # hair or a hat running off the picture's edge fades out towards it: when the head moves, the
    # layer's edge is then a soft blend over the plate (the picture's own pixels there), not a hard
    # line where the layer ends (unmoved, the premultiplied layer still gives back the portrait)
    layer *= _edge_ramp(size)
    layer[_polygon(size, landmarks[FACE_OVAL])] = 1.0
    layer[layer < 1.5 * REACH_ALPHA] = 0.0
    # the open jaw is drawn whole: its reach is in the support (a flow cut at the person's outline
    # would slice the dropped chin and jaw line off against the background)
    layer[(layer == 0) & jaw_reach(landmarks, size) & inside] = REACH_ALPHA
    return layer.astype(np.float32)


# -- the plate -------------------------------------------------------------------------------------

def push_pull(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """values (H, W, C) float with known (H, W) bool: every unknown pixel filled from the known ones,
    smoothly (coarse pyramid levels fill the holes of finer ones, upsampled bilinearly)."""
    w = known.astype(np.float64)
    levels = [(values * w[..., None], w)]
    while min(levels[-1][1].shape) > 1:
        vw, ww = levels[-1]
        h, wd = ww.shape
        ph, pw = h % 2, wd % 2
        vw = np.pad(vw, ((0, ph), (0, pw), (0, 0)), mode="edge")
        ww = np.pad(ww, ((0, ph), (0, pw)), mode="edge")
        levels.append((vw.reshape(vw.shape[0] // 2, 2, vw.shape[1] // 2, 2, -1).sum((1, 3)),
                       ww.reshape(ww.shape[0] // 2, 2, ww.shape[1] // 2, 2).sum((1, 3))))
    vw, ww = levels[-1]
    filled = vw / np.maximum(ww, 1e-9)[..., None]
    for vw, ww in reversed(levels[:-1]):
        h, wd = ww.shape
        zoom = (h / filled.shape[0], wd / filled.shape[1], 1)
        up = ndimage.zoom(filled, zoom, order=1, mode="nearest", grid_mode=True)[:h, :wd]
        own = vw / np.maximum(ww, 1e-9)[..., None]
        a = np.clip(ww, 0, 1)[..., None]
        filled = a * own + (1 - a) * up
    return filled


def _fill_with_grain(img: np.ndarray, known: np.ndarray, seed: int = PLATE_SEED) -> np.ndarray:
    """img (S, S, 3) float64 -> every pixel filled by push-pull from the known (S, S) ones, plus grain
    at the known pixels' own fine-detail level (strong edges, such as a flag's stars, capped) carried
    in the same way, so a fill does not read as a flat smear. Known pixels come back as well: callers
    keep their own there."""
    fill = push_pull(img, known)
    detail = img - ndimage.gaussian_filter(img, (1.5, 1.5, 0))
    energy = (detail ** 2).mean(-1)
    energy = np.minimum(energy, 4.0 * np.median(energy[known]) + 1.0)
    level = np.sqrt(push_pull(energy[..., None], known))
    rng = np.random.default_rng(seed)
    grain = ndimage.gaussian_filter(rng.standard_normal(known.shape), 0.6)
    grain *= level[..., 0] / max(float(grain.std()), 1e-9)
    return fill + grain[..., None]


def extend_outside(crop: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """crop (S, S, 3) uint8 whose pixels outside the photo (inside (S, S) bool False) are padding ->
    those pixels filled from the photo around them (push-pull with matched grain, as the plate's hole
    is), blended over EXTEND_BLEND_PX so the photo's edge leaves no seam. A close-up's missing
    shoulders and backdrop come out as a soft continuation of the colours at the photo's edge, where
    repeated edge pixels draw streaks across the frame."""
    img = crop.astype(np.float64)
    fill = _fill_with_grain(img, inside, seed=PLATE_SEED + 1)
    # the fill's own first pixels are the average of the photo's last ones: fade over a few pixels
    dist = ndimage.distance_transform_edt(~inside)
    w = np.clip(dist / EXTEND_BLEND_PX, 0.0, 1.0)[..., None]
    out = (1 - w) * img + w * fill
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def background_plate(image: np.ndarray, layer: np.ndarray, landmarks: np.ndarray,
                     person: np.ndarray | None = None) -> np.ndarray:
    """(S, S, 3) uint8: the portrait with the layer's support (layer > 0) replaced by background
    filled in from around it, with matching grain, except where the layer is only the jaw's reach
    (REACH_ALPHA); elsewhere exactly the portrait (the renderer's premultiplied layer is 0 there
    only if the plate is the portrait).
    person (S, S) 0..1, when given, keeps the body's colours out of the fill (what a head uncovers
    is the background behind it, not the shirt)."""
    size = image.shape[0]
    img = image.astype(np.float64)
    hole = layer > 1.5 * REACH_ALPHA
    known = ~hole
    if person is not None:
        clear = known & ~ndimage.binary_dilation(person > 0.05, iterations=2)
        if clear.mean() > 0.02:          # a portrait that is all person: fill from whatever is left
            known = clear
    fill = _fill_with_grain(img, known)
    # Where the layer fades out over the body (the neck's base, the head ring's edge below the jaw)
    # the plate keeps the body: what shows there when the neck moves is the body, not the backdrop,
    # and the layer's colour there stays the picture's own (image - (1 - a) * image = a * image).
    fill_w = np.clip((head_zone(landmarks, size) - 0.8) / 0.2, 0.0, 1.0)
    # and so does it where the layer fades out at the crop's edge (head_layer): hair running off the
    # picture goes on being hair there when the head nods, rather than ending in a line
    fill_w = (fill_w * _edge_ramp(size))[..., None]
    fill = fill_w * fill + (1 - fill_w) * img
    plate = np.where(hole[..., None], fill, img)
    return np.clip(np.round(plate), 0, 255).astype(np.uint8)


def person_head_and_plate(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """image (S, S, 3) uint8, landmarks (468, 3) -> the person alpha as an (S, S) uint8 0..255 mask
    (what a transparent background keeps), the head layer as one (0 exactly where the head does not
    reach) and the (S, S, 3) uint8 background plate."""
    person = person_alpha(image, landmarks)
    layer = head_layer(person, landmarks)
    mask = np.round(layer * 255).astype(np.uint8)
    # the plate is built for the mask as stored (rounded), so the two agree on where the head is
    plate = background_plate(image, mask.astype(np.float32) / 255, landmarks, person)
    return np.round(person * 255).astype(np.uint8), mask, plate


def head_mask_and_plate(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """person_head_and_plate without the person mask."""
    return person_head_and_plate(image, landmarks)[1:]


def background_only(image: np.ndarray, person: np.ndarray) -> np.ndarray:
    """(S, S, 3) float32: an estimate of the backdrop alone everywhere, pushed and pulled in from the
    pixels that are not person (person (S, S) 0..1 below 0.05); what a soft edge's colour is unmixed
    from for a transparent background."""
    clear = person < 0.05
    if clear.mean() < 0.005:             # all person: no backdrop to speak of
        return np.zeros(image.shape, np.float32)
    return push_pull(image.astype(np.float64), clear).astype(np.float32)
