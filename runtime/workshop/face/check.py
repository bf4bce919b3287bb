"""Does the picture obey the command? Measurements on rendered frames, made by the landmark model.

    lm = measure(frame_rgb)            # (468, 3) landmarks of the face in a rendered frame
    lip_gap(lm), eye_opening(lm), eye_opening_iris(frame_rgb, lm), head_angles(lm_neutral, lm)

These judge the renderer from the outside: they see only pixels, as a viewer does, and use the
same face-mesh model that prepared the avatar (so a frame the model cannot read counts as a failure).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from facecast.runtime.engine.avatar import landmarks as lmk
from facecast.runtime.engine.avatar.mesh import EYE_LIDS, FACE_OVAL, rotation

# Landmarks that move with the skull, not with the jaw, lips, lids or brows: for head pose.
RIGID = [1, 2, 4, 5, 6, 168, 197, 195, 33, 133, 263, 362, 10, 151, 9, 8, 234, 454, 127, 356, 93, 323,
         98, 327, 129, 358, 116, 345, 50, 280, 21, 251, 54, 284, 103, 332, 67, 297, 109, 338]


def measure(image: np.ndarray, analyzer: lmk.FaceAnalyzer | None = None) -> np.ndarray:
    """(468, 3) landmarks of the largest face in an RGB frame (a levelled second mesh pass);
    NoFaceFound if the detector sees none."""
    an = analyzer or lmk.default_analyzer()
    faces = sorted(an.detect_faces(image), key=lambda f: -f.box[2] * f.box[3])
    if not faces:
        raise lmk.NoFaceFound("no face in the rendered frame")
    first = an.mesh(image, faces[0]).landmarks
    return an.mesh(image, lmk.roi_from_landmarks(first)).landmarks


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening at the mouth centre (13 -> 14) over the mouth width (61 -> 291)."""
    p = landmarks[:, :2]
    return float(np.linalg.norm(p[14] - p[13]) / np.linalg.norm(p[291] - p[61]))


def eye_opening(landmarks: np.ndarray) -> float:
    """Mean over both eyes of the lid gap (middle three upper/lower lid pairs) over the eye width."""
    p = landmarks[:, :2]
    out = []
    for lids in EYE_LIDS.values():
        width = np.linalg.norm(p[lids["corners"][0]] - p[lids["corners"][1]])
        gap = np.mean(p[lids["lower"][2:5], 1] - p[lids["upper"][2:5], 1])
        out.append(gap / width)
    return float(np.mean(out))


def eye_opening_iris(image: np.ndarray, landmarks: np.ndarray, analyzer: lmk.FaceAnalyzer | None = None) -> float:
    """Mean over both eyes of lid gap / eye width from the iris model's refined eye contour (MediaPipe's
    refine_landmarks eyes: contour points 0..8 lower lid corner to corner, 9..15 upper lid). Finer on lids
    than the 468-point mesh, which barely moves its lid points for a painted-shut eye."""
    an = analyzer or lmk.default_analyzer()
    contour = an.iris(image, landmarks).contour[:, :16, :2]
    out = [np.mean(c[[3, 4, 5], 1] - c[[11, 12, 13], 1]) / np.linalg.norm(c[0] - c[8]) for c in contour]
    return float(np.mean(out))


def head_angles(neutral: np.ndarray, posed: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) degrees, schema.HEAD_FIELDS signs, that best carry the neutral frame's 3-D
    rigid landmarks onto the posed frame's 2-D ones (orthographic projection, free scale and shift)."""
    x0 = neutral[RIGID].astype(np.float64)
    x0 = x0 - x0.mean(0)
    target = posed[RIGID, :2].astype(np.float64)

    def residual(q):
        pitch, yaw, roll, s, tx, ty = q
        proj = (x0 @ rotation(pitch, yaw, roll).T)[:, :2] * s + (tx, ty)
        return (proj - target).ravel()

    fit = least_squares(residual, [0, 0, 0, 1, *target.mean(0)])
    return float(fit.x[0]), float(fit.x[1]), float(fit.x[2])


def face_crop_box(landmarks: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) bounding box of the face oval, clipped to the frame."""
    p = landmarks[FACE_OVAL, :2]
    lo = np.clip(np.floor(p.min(0)), 0, size).astype(int)
    hi = np.clip(np.ceil(p.max(0)), 0, size).astype(int)
    return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])
