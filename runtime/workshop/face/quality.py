"""Renderer quality per portrait, measured from the outside: `facecast eval render [--json]`.

`portrait_quality(renderer) -> dict` renders command sweeps and reads the frames back with the landmark
model (check.py), the same measures and thresholds as tests/test_render.py:
- lip_gap_spearman / lip_gap_rise: Spearman rank correlation of the lip gap (check.lip_gap, a share of
  mouth width) with jawOpen over 0, 0.2, ..., 1, and its rise from jawOpen 0 to 1. Target >= 0.9 / > 0.2.
- blink_drop: 1 - eye opening at eyeBlink = 1 / eye opening at 0 (check.eye_opening_iris). Target >= 0.70.
- yaw_deg: estimated yaw for commanded -20, -10, +10, +20 (check.head_angles against the neutral render);
  yaw_max_err_deg the worst |estimate - command|. Target <= 5.
- pitch_deg (commanded -15, +15) and roll_deg (commanded +12), with their worst errors. Target <= 5.
- still_head_unchanged: share of pixels outside the head mask left bit-identical by a busy face with a
  still head (jaw, blink, smile, brows, gaze). Target 1.0.
- identity_ssim / identity_landmark_err: SSIM of the neutral render's face box against the prepared crop
  (scikit-image, from the `dev` extra) and the mean landmark distance above the nose base as a share of
  face width. Targets >= 0.9 (0.8 for a portrait whose lips are parted at rest) / <= 0.02.
"""

from __future__ import annotations

import numpy as np

from facecast.runtime.workshop.face import check
from facecast.runtime.engine.avatar.sheet import motion_frame

TARGETS = {"lip_gap_spearman": 0.9, "lip_gap_rise": 0.2, "blink_drop": 0.70, "yaw_max_err_deg": 5.0,
           "pitch_max_err_deg": 5.0, "roll_err_deg": 5.0, "still_head_unchanged": 1.0,
           "identity_ssim": 0.9, "identity_landmark_err": 0.02}


JAW_SWEEP = np.linspace(0.0, 1.0, 6)
YAWS_DEG = (-20, -10, 10, 20)
PITCHES_DEG = (-15, 15)
ROLL_DEG = 12
# a still head with everything else moving: jaw, a blink, a one-sided smile, brows, gaze
BUSY_FACE = motion_frame({"jawOpen": 0.8, "eyeBlinkLeft": 1.0, "mouthSmileRight": 1.0, "browInnerUp": 1.0},
                         gaze=(20, 10, 20, 10))


def lip_gaps(renderer) -> np.ndarray:
    """(6,) check.lip_gap of frames rendered at jawOpen = JAW_SWEEP."""
    return np.array([check.lip_gap(check.measure(renderer.render(motion_frame({"jawOpen": j}))))
                     for j in JAW_SWEEP])


def eye_openings(renderer) -> tuple[float, float]:
    """check.eye_opening_iris at eyeBlink 0 and at eyeBlink 1 (both eyes)."""
    out = []
    for blink in (0.0, 1.0):
        img = renderer.render(motion_frame({"eyeBlinkLeft": blink, "eyeBlinkRight": blink}))
        out.append(check.eye_opening_iris(img, check.measure(img)))
    return out[0], out[1]


def head_estimate(renderer, neutral: np.ndarray, head) -> tuple[float, float, float]:
    """(pitch, yaw, roll) degrees read from a frame rendered at `head` (6 pose values), against the
    neutral frame's landmarks `neutral` (468, 3)."""
    return check.head_angles(neutral, check.measure(renderer.render(motion_frame({}, head))))


def identity(avatar, neutral_img: np.ndarray, neutral: np.ndarray) -> tuple[float, float]:
    """(SSIM of the neutral render's face box against the prepared crop, mean landmark distance above the
    nose base — not the mouth — as a share of face width). neutral: the render's (468, 3) landmarks."""
    from skimage.metrics import structural_similarity

    av = avatar
    x0, y0, x1, y1 = check.face_crop_box(av.landmarks, av.size)
    ssim = structural_similarity(neutral_img[y0:y1, x0:x1], av.image[y0:y1, x0:x1], channel_axis=2)
    width = np.linalg.norm(av.landmarks[234, :2] - av.landmarks[454, :2])
    upper_face = av.landmarks[:, 1] < av.landmarks[2, 1]
    err = np.linalg.norm(neutral[upper_face, :2] - av.landmarks[upper_face, :2], axis=1).mean() / width
    return float(ssim), float(err)


def portrait_quality(renderer) -> dict:
    """renderer: a PortraitRenderer. Returns the module docstring's measures (floats, lists of floats)."""
    from scipy.stats import spearmanr

    r, av = renderer, renderer.avatar
    neutral_img = r.render(motion_frame({}))
    neutral = check.measure(neutral_img)
    gaps = lip_gaps(r)
    opened, closed = eye_openings(r)
    yaws = [head_estimate(r, neutral, (0, y, 0, 0, 0, 0))[1] for y in YAWS_DEG]
    pitches = [head_estimate(r, neutral, (p, 0, 0, 0, 0, 0))[0] for p in PITCHES_DEG]
    roll = head_estimate(r, neutral, (0, 0, ROLL_DEG, 0, 0, 0))[2]
    busy = r.render(BUSY_FACE)
    outside = av.masks["head"] == 0
    ssim, landmark_err = identity(av, neutral_img, neutral)
    return {
        "lip_gap_spearman": float(spearmanr(JAW_SWEEP, gaps).correlation), "lip_gap_rise": float(gaps[-1] - gaps[0]),
        "blink_drop": float(1.0 - closed / opened),
        "yaw_deg": [round(v, 1) for v in yaws],
        "yaw_max_err_deg": float(max(abs(e - c) for e, c in zip(yaws, YAWS_DEG))),
        "pitch_deg": [round(v, 1) for v in pitches],
        "pitch_max_err_deg": float(max(abs(e - c) for e, c in zip(pitches, PITCHES_DEG))),
        "roll_deg": round(roll, 1), "roll_err_deg": float(abs(roll - ROLL_DEG)),
        "still_head_unchanged": float(np.mean(np.all(busy[outside] == av.image[outside], axis=-1))),
        "identity_ssim": ssim, "identity_landmark_err": landmark_err,
    }


def meets_targets(q: dict) -> dict[str, bool]:
    """Which TARGETS a portrait_quality result meets (errors and landmark error: at most; the rest: at least)."""
    at_most = {"yaw_max_err_deg", "pitch_max_err_deg", "roll_err_deg", "identity_landmark_err"}
    return {k: (q[k] <= t if k in at_most else q[k] >= t) for k, t in TARGETS.items()}


def format_table(results: dict[str, dict]) -> str:
    """{portrait: portrait_quality(...)} -> a markdown table, failed targets marked with a cross."""
    keys = ("lip_gap_spearman", "lip_gap_rise", "blink_drop", "yaw_deg", "pitch_deg", "roll_deg",
            "still_head_unchanged", "identity_ssim", "identity_landmark_err")
    lines = ["| portrait | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, q in results.items():
        ok = meets_targets(q)
        ok.update(yaw_deg=ok["yaw_max_err_deg"], pitch_deg=ok["pitch_max_err_deg"], roll_deg=ok["roll_err_deg"])
        cells = []
        for k in keys:
            v = q[k]
            if isinstance(v, list):
                text = ", ".join(f"{x:+.1f}" for x in v)
            else:
                text = f"{v:+.1f}" if k.endswith("_deg") else f"{v:.3f}"
            cells.append(text + ("" if ok.get(k, True) else " ✗"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(portraits: list[str] | None = None, as_json: bool = False, device: str = "cpu") -> int:
    """Prepare each sample portrait, measure it, print a table (or one JSON object)."""
    import json

    import torch

    from facecast.runtime.engine.avatar.render import PortraitRenderer
    from facecast.runtime.workshop.face.docsheets import DOC_PORTRAITS, doc_avatar

    torch.set_num_threads(1)
    results = {}
    for name in portraits or list(DOC_PORTRAITS):
        if name not in DOC_PORTRAITS:
            raise SystemExit(f"facecast eval render: unknown portrait {name!r}; choose from {', '.join(DOC_PORTRAITS)}")
        results[name] = portrait_quality(PortraitRenderer(doc_avatar(name), device=device))
    print(json.dumps(results) if as_json else format_table(results))
    return 0


EDGE_BAND = 0.1            # edge_streaks looks at this share of the frame next to each edge
STREAK_RATIO = 0.35        # below this across/along ratio an edge band is smeared padding


def edge_streaks(rgb: np.ndarray, band: float = EDGE_BAND) -> dict:
    """rgb (S, S, 3) uint8 -> {"top"|"bottom"|"left"|"right": across / along}: in the band of
    band x S pixels next to each edge, the mean absolute grey-level change from one line to the next
    line inwards (across) over that along each line (along). Repeated edge pixels give ~0 (each line
    is the last one again, while the line itself varies); a photo, or a fill with grain, gives ~1.
    A band with no detail at all (along < 0.2 levels) reads 1: nothing there to streak."""
    s = rgb.shape[0]
    b = max(2, int(band * s))
    g = rgb.astype(np.float32).mean(-1)
    bands = {"top": g[:b], "bottom": g[::-1][:b], "left": g[:, :b].T, "right": g[:, ::-1][:, :b].T}
    out = {}
    for side, lines in bands.items():
        across = float(np.abs(np.diff(lines, axis=0)).mean())
        along = float(np.abs(np.diff(lines, axis=1)).mean())
        out[side] = 1.0 if along < 0.2 else across / along
    return out
